-- A manager's change to their own leave (a balance adjustment, their allowance) is not made at
-- once: it waits here for another manager, like a leave request.
CREATE TABLE leave_changes (
    id              INTEGER PRIMARY KEY,
    guild_id        INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,  -- whose leave it changes: the manager who asked
    kind            TEXT NOT NULL CHECK (kind IN ('adjust', 'allowance')),
    type_name       TEXT NOT NULL,
    days            TEXT NOT NULL,
    reason          TEXT,
    status          TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'approved', 'rejected')),
    requested_at    TEXT NOT NULL,
    decided_by      INTEGER,
    decided_at      TEXT,
    card_channel_id INTEGER,
    card_message_id INTEGER
);
CREATE INDEX leave_changes_guild ON leave_changes (guild_id, status);

-- Who last switched a leave type's approval on or off: a manager's own request on a type they
-- made auto-approving still waits for another manager.
ALTER TABLE leave_types ADD COLUMN approval_changed_by INTEGER;
