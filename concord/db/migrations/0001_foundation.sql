-- Guild-wide settings; NULL means "not configured" (defaults live in concord.core.settings).
CREATE TABLE guild_settings (
    guild_id            INTEGER PRIMARY KEY,
    manager_role_id     INTEGER,
    staff_role_id       INTEGER,
    approvals_channel_id INTEGER,
    reports_channel_id  INTEGER,
    tasks_channel_id    INTEGER,
    timezone            TEXT NOT NULL DEFAULT 'UTC',
    workdays            TEXT NOT NULL DEFAULT 'mon,tue,wed,thu,fri',
    workday_minutes     INTEGER NOT NULL DEFAULT 480 CHECK (workday_minutes BETWEEN 1 AND 1440),
    dar_reminder        TEXT NOT NULL DEFAULT '17:00',
    dar_summary         TEXT NOT NULL DEFAULT '19:00',
    digest              TEXT NOT NULL DEFAULT '09:00',
    task_assign         TEXT NOT NULL DEFAULT 'anyone' CHECK (task_assign IN ('anyone', 'managers')),
    leave_reminder_hours INTEGER NOT NULL DEFAULT 24 CHECK (leave_reminder_hours BETWEEN 1 AND 720),
    leave_max_days      INTEGER NOT NULL DEFAULT 60 CHECK (leave_max_days BETWEEN 1 AND 366),
    dar_edit_days       INTEGER NOT NULL DEFAULT 2 CHECK (dar_edit_days BETWEEN 0 AND 31),
    task_overdue_days   INTEGER NOT NULL DEFAULT 2 CHECK (task_overdue_days BETWEEN 1 AND 60),
    updated_at          TEXT,
    updated_by          INTEGER
);

-- A member's own timezone (overrides the guild's for their reminders).
CREATE TABLE member_settings (
    guild_id  INTEGER NOT NULL,
    user_id   INTEGER NOT NULL,
    timezone  TEXT,
    PRIMARY KEY (guild_id, user_id)
);

-- Hash of the last synced command tree per scope ('global' or 'guild:<id>').
CREATE TABLE command_sync (
    scope      TEXT PRIMARY KEY,
    tree_hash  TEXT NOT NULL,
    synced_at  TEXT NOT NULL
);

-- Append-only audit trail of every decision and settings change.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    actor_id   INTEGER NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    before     TEXT,
    after      TEXT,
    at         TEXT NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log (guild_id, subject);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
