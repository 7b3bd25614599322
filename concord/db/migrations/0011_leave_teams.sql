-- Leave teams (issue 20, part A): teams with their own approvers, a limit on how many of a team
-- may be out at once, and blackout days when members' leave is refused.
--
-- A team is deleted outright (not soft-deleted): its members, approvers and blackouts go with it
-- (ON DELETE CASCADE; the writer runs with foreign_keys=ON), and the audit log keeps the record
-- of what it was. Its name can then be used again. A feed or link that names a deleted team finds
-- no row and answers as for an unknown team.

CREATE TABLE leave_teams (
    id                INTEGER PRIMARY KEY,
    guild_id          INTEGER NOT NULL,
    name              TEXT NOT NULL,
    approver_role_id  INTEGER NULL,  -- members of this role approve the team's requests
    max_out           INTEGER NULL CHECK (max_out IS NULL OR max_out >= 1),  -- NULL = no limit
    created_by        INTEGER NOT NULL,
    created_at        TEXT NOT NULL
);
-- One name per guild, case-insensitively ("Support" and "support" are the same team).
CREATE UNIQUE INDEX leave_teams_name ON leave_teams (guild_id, lower(name));

-- A member may be in several teams.
CREATE TABLE leave_team_members (
    team_id   INTEGER NOT NULL REFERENCES leave_teams (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL,
    added_by  INTEGER NOT NULL,
    added_at  TEXT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX leave_team_members_user ON leave_team_members (user_id);

-- Approvers named one by one (besides, or instead of, the team's approver role).
CREATE TABLE leave_team_approvers (
    team_id   INTEGER NOT NULL REFERENCES leave_teams (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL,
    added_by  INTEGER NOT NULL,
    added_at  TEXT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX leave_team_approvers_user ON leave_team_approvers (user_id);

-- Days on which members' leave is refused: for one team, or (team_id NULL) the whole office.
CREATE TABLE leave_blackouts (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    team_id     INTEGER NULL REFERENCES leave_teams (id) ON DELETE CASCADE,
    start_date  TEXT NOT NULL,  -- ISO dates in the guild's calendar, both days included
    end_date    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_by  INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    CHECK (end_date >= start_date)
);
CREATE INDEX leave_blackouts_guild ON leave_blackouts (guild_id, start_date);

-- A manager's note when a request was filed over a blackout or a team's limit (NULL otherwise).
ALTER TABLE leave_requests ADD COLUMN override_note TEXT;
