-- Leave calendar feeds and the wall chart (issue 20, part B): private links served by
-- `concord web`, and the members' display names the web process shows (it has no Discord).
--
-- A link's token is never stored: only its SHA-256 (hex), so a copy of the database opens no
-- feed. One live link per member, guild and feed (personal, office, or one team); revoking
-- stamps revoked_at and a new link is a new row. A team's links go with the team.
CREATE TABLE leave_feeds (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('personal', 'team', 'office')),
    team_id     INTEGER NULL REFERENCES leave_teams (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    -- Whether the subscriber sees others' leave types and reasons: a manager when the link was
    -- made, kept true by the bot when their roles change (0 or 1).
    manager     INTEGER NOT NULL DEFAULT 0 CHECK (manager IN (0, 1)),
    created_at  TEXT NOT NULL,
    revoked_at  TEXT NULL,
    revoked_by  INTEGER NULL,
    CHECK ((kind = 'team') = (team_id IS NOT NULL))
);
CREATE UNIQUE INDEX leave_feeds_live
    ON leave_feeds (guild_id, user_id, kind, coalesce(team_id, 0)) WHERE revoked_at IS NULL;

-- Members' display names as the bot last saw them (on member events and interactions), for
-- the feeds and the wall chart; a member who leaves the server is removed.
CREATE TABLE member_names (
    guild_id      INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    display_name  TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
