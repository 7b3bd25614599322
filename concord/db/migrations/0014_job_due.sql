-- Scale-out (issue 14): a scheduler pass reads only what is due, and every process sees a
-- settings change made by another one.

-- The next due instant (UTC) of each guild's daily jobs. due_at '' means "work it out again at
-- the next pass" (set when the guild's settings change, when the process starts and when the
-- clock jumps back); NULL means the job is off for the guild (its `at` said None). local_date
-- is the guild-local date that due_at belongs to. version moves on every such reset, so a pass
-- that worked out a row from older settings cannot overwrite the reset.
CREATE TABLE job_due (
    guild_id   INTEGER NOT NULL,
    job        TEXT NOT NULL,
    due_at     TEXT,
    local_date TEXT,
    version    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, job)
);
CREATE INDEX job_due_at ON job_due (due_at);

-- One row per settings change: each process polls the highest seq and drops its cached copy of
-- the guilds changed since (a /concord setup in one process is seen by the others within 1 s).
CREATE TABLE settings_changes (
    seq        INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    changed_at TEXT NOT NULL
);

-- The tick jobs ask which guilds may need them now in one indexed query each, instead of
-- running for every guild on every pass.
CREATE INDEX member_settings_own_zone ON member_settings (guild_id) WHERE timezone IS NOT NULL;
CREATE INDEX tasks_due_assigned ON tasks (due_date, guild_id) WHERE assignee_id IS NOT NULL;
CREATE INDEX leave_requests_pending ON leave_requests (created_at, guild_id) WHERE status = 'pending';
