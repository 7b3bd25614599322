-- Daily activity reports: one per member per local date, edits kept as versions, the tasks made
-- from blockers, and the Submit DAR panels posted in channels.
CREATE TABLE dar_reports (
    id            INTEGER PRIMARY KEY,
    guild_id      INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    day           TEXT NOT NULL,  -- the member's local date (their timezone, else the guild's)
    done          TEXT NOT NULL CHECK (length(done) BETWEEN 1 AND 4000),
    plan          TEXT NOT NULL CHECK (length(plan) BETWEEN 1 AND 4000),
    blockers      TEXT CHECK (blockers IS NULL OR length(blockers) BETWEEN 1 AND 1000),
    minutes       INTEGER CHECK (minutes IS NULL OR minutes BETWEEN 0 AND 1440),  -- hours, exact
    late          INTEGER NOT NULL CHECK (late IN (0, 1)),  -- filed after that day's summary
    submitted_at  TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    edits         INTEGER NOT NULL DEFAULT 0,
    UNIQUE (guild_id, user_id, day)
);
CREATE INDEX dar_reports_day ON dar_reports (guild_id, day);

-- A report's text as it was before each edit (the newest text lives in dar_reports).
CREATE TABLE dar_report_versions (
    id           INTEGER PRIMARY KEY,
    report_id    INTEGER NOT NULL REFERENCES dar_reports (id),
    done         TEXT NOT NULL,
    plan         TEXT NOT NULL,
    blockers     TEXT,
    minutes      INTEGER,
    replaced_at  TEXT NOT NULL,
    replaced_by  INTEGER NOT NULL
);
CREATE INDEX dar_report_versions_report ON dar_report_versions (report_id);

CREATE TRIGGER dar_report_versions_no_update BEFORE UPDATE ON dar_report_versions
BEGIN SELECT RAISE(ABORT, 'dar_report_versions is append-only'); END;
CREATE TRIGGER dar_report_versions_no_delete BEFORE DELETE ON dar_report_versions
BEGIN SELECT RAISE(ABORT, 'dar_report_versions is append-only'); END;

-- The task a manager made from a report's blockers (at most one per report).
CREATE TABLE dar_blocker_tasks (
    report_id   INTEGER PRIMARY KEY REFERENCES dar_reports (id),
    task_id     INTEGER NOT NULL,
    created_by  INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);

-- The message with the Submit DAR button in a channel (one per channel; a new one replaces it).
CREATE TABLE dar_panels (
    channel_id  INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    posted_by   INTEGER NOT NULL,
    posted_at   TEXT NOT NULL
);
