-- PostgreSQL twin of ../0012_leave_feeds.sql: calendar feed links (token hashes only) and the
-- members' display names the web process shows.
CREATE TABLE leave_feeds (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guild_id    BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('personal', 'team', 'office')),
    team_id     BIGINT NULL REFERENCES leave_teams (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    manager     INTEGER NOT NULL DEFAULT 0 CHECK (manager IN (0, 1)),
    created_at  TEXT NOT NULL,
    revoked_at  TEXT NULL,
    revoked_by  BIGINT NULL,
    CHECK ((kind = 'team') = (team_id IS NOT NULL))
);
CREATE UNIQUE INDEX leave_feeds_live
    ON leave_feeds (guild_id, user_id, kind, coalesce(team_id, 0)) WHERE revoked_at IS NULL;

CREATE TABLE member_names (
    guild_id      BIGINT NOT NULL,
    user_id       BIGINT NOT NULL,
    display_name  TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
