-- Tasks: the work itself, its history, comments, where its cards are, and the boards.
CREATE TABLE tasks (
    id              INTEGER PRIMARY KEY,
    guild_id        INTEGER NOT NULL,
    title           TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description     TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    creator_id      INTEGER NOT NULL,
    assignee_id     INTEGER,
    status          TEXT NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'in_progress', 'blocked', 'done', 'cancelled')),
    priority        TEXT NOT NULL DEFAULT 'normal'
                    CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    -- Local date (and optional HH:MM) in the guild's timezone.
    due_date        TEXT,
    due_time        TEXT CHECK (due_time IS NULL OR due_date IS NOT NULL),
    repeat          TEXT NOT NULL DEFAULT 'none'
                    CHECK (repeat IN ('none', 'daily', 'weekdays', 'weekly', 'monthly')),
    -- Day of the month a monthly series keeps to (31 stays 31 after a short month).
    repeat_day      INTEGER CHECK (repeat_day IS NULL OR repeat_day BETWEEN 1 AND 31),
    series_id       INTEGER,
    previous_id     INTEGER REFERENCES tasks (id),
    next_id         INTEGER REFERENCES tasks (id),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    completed_at    TEXT,
    card_channel_id INTEGER,
    card_message_id INTEGER,
    -- The chat message a task was created from (message context menu).
    source_url      TEXT,
    CHECK (repeat = 'none' OR due_date IS NOT NULL)
);
CREATE INDEX tasks_guild_status ON tasks (guild_id, status);
CREATE INDEX tasks_assignee ON tasks (guild_id, assignee_id, status);
CREATE INDEX tasks_completed ON tasks (guild_id, completed_at);
-- A completed occurrence has at most one next occurrence, whatever happens.
CREATE UNIQUE INDEX tasks_one_next_occurrence ON tasks (previous_id) WHERE previous_id IS NOT NULL;

-- History: status changes, assignments, edits. Append-only.
CREATE TABLE task_events (
    id          INTEGER PRIMARY KEY,
    task_id     INTEGER NOT NULL REFERENCES tasks (id),
    actor_id    INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('created', 'status', 'assigned', 'edited')),
    from_value  TEXT,
    to_value    TEXT,
    note        TEXT,
    at          TEXT NOT NULL
);
CREATE INDEX task_events_task ON task_events (task_id, id);
CREATE TRIGGER task_events_no_update BEFORE UPDATE ON task_events
BEGIN SELECT RAISE(ABORT, 'task_events is append-only'); END;
CREATE TRIGGER task_events_no_delete BEFORE DELETE ON task_events
BEGIN SELECT RAISE(ABORT, 'task_events is append-only'); END;

CREATE TABLE task_comments (
    id          INTEGER PRIMARY KEY,
    task_id     INTEGER NOT NULL REFERENCES tasks (id),
    author_id   INTEGER NOT NULL,
    body        TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 1000),
    at          TEXT NOT NULL
);
CREATE INDEX task_comments_task ON task_comments (task_id, id);

-- Copies of a task's card sent by DM (the channel card is on the task row).
CREATE TABLE task_dm_cards (
    task_id     INTEGER NOT NULL REFERENCES tasks (id),
    channel_id  INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    PRIMARY KEY (task_id, message_id)
);

-- One board per channel; its messages (pages) in order, as a JSON array of ids.
CREATE TABLE task_boards (
    channel_id  INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    message_ids TEXT NOT NULL,
    posted_by   INTEGER NOT NULL,
    posted_at   TEXT NOT NULL
);
CREATE INDEX task_boards_guild ON task_boards (guild_id);
