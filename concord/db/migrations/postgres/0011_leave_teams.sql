-- Leave teams (issue 20, part A): the PostgreSQL twin of ../0011_leave_teams.sql.
-- A team is deleted outright; its members, approvers and blackouts go with it (ON DELETE
-- CASCADE) and the audit log keeps the record.

CREATE TABLE leave_teams (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guild_id          BIGINT NOT NULL,
    name              TEXT NOT NULL,
    approver_role_id  BIGINT NULL,
    max_out           INTEGER NULL CHECK (max_out IS NULL OR max_out >= 1),
    created_by        BIGINT NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE UNIQUE INDEX leave_teams_name ON leave_teams (guild_id, lower(name));

CREATE TABLE leave_team_members (
    team_id   BIGINT NOT NULL REFERENCES leave_teams (id) ON DELETE CASCADE,
    user_id   BIGINT NOT NULL,
    added_by  BIGINT NOT NULL,
    added_at  TEXT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX leave_team_members_user ON leave_team_members (user_id);

CREATE TABLE leave_team_approvers (
    team_id   BIGINT NOT NULL REFERENCES leave_teams (id) ON DELETE CASCADE,
    user_id   BIGINT NOT NULL,
    added_by  BIGINT NOT NULL,
    added_at  TEXT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX leave_team_approvers_user ON leave_team_approvers (user_id);

CREATE TABLE leave_blackouts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guild_id    BIGINT NOT NULL,
    team_id     BIGINT NULL REFERENCES leave_teams (id) ON DELETE CASCADE,
    start_date  TEXT NOT NULL,
    end_date    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_by  BIGINT NOT NULL,
    created_at  TEXT NOT NULL,
    CHECK (end_date >= start_date)
);
CREATE INDEX leave_blackouts_guild ON leave_blackouts (guild_id, start_date);

-- Only if the leave tables are there (they are ported with the leave manager, docs/POSTGRES.md).
DO $$
BEGIN
    IF to_regclass('leave_requests') IS NOT NULL THEN
        ALTER TABLE leave_requests ADD COLUMN IF NOT EXISTS override_note TEXT;
    END IF;
END
$$;
