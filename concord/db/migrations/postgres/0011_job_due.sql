-- PostgreSQL twin of ../0011_job_due.sql (issue 14): the same tables and indexes.

CREATE TABLE job_due (
    guild_id   BIGINT NOT NULL,
    job        TEXT NOT NULL,
    due_at     TEXT,
    local_date TEXT,
    version    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, job)
);
CREATE INDEX job_due_at ON job_due (due_at);

CREATE TABLE settings_changes (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guild_id   BIGINT NOT NULL,
    changed_at TEXT NOT NULL
);

CREATE INDEX member_settings_own_zone ON member_settings (guild_id) WHERE timezone IS NOT NULL;
CREATE INDEX tasks_due_assigned ON tasks (due_date, guild_id) WHERE assignee_id IS NOT NULL;
CREATE INDEX leave_requests_pending ON leave_requests (created_at, guild_id) WHERE status = 'pending';

-- Settings changes are also announced (LISTEN settings_changed), so a process on PostgreSQL
-- hears of one at once instead of at its next poll.
CREATE FUNCTION settings_changes_notify_fn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('settings_changed', NEW.guild_id::text);
    RETURN NEW;
END;
$$;
CREATE TRIGGER settings_changes_notify AFTER INSERT ON settings_changes
    FOR EACH ROW EXECUTE FUNCTION settings_changes_notify_fn();
