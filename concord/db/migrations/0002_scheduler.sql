-- One row per scheduled job per guild per local date: the unique key makes a job run once.
CREATE TABLE job_runs (
    guild_id    INTEGER NOT NULL,
    job         TEXT NOT NULL,
    local_date  TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    late        INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 1,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    error       TEXT,
    PRIMARY KEY (guild_id, job, local_date)
);

-- Ledger of one-off notifications (reminders, DMs): a key is claimed once, ever.
CREATE TABLE notifications_sent (
    guild_id  INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    key       TEXT NOT NULL,
    sent_at   TEXT NOT NULL,
    PRIMARY KEY (guild_id, kind, key)
);
