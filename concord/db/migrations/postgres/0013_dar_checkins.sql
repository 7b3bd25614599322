-- PostgreSQL twin of ../0013_dar_checkins.sql (same tables, same data moved).
-- Check-ins (issue 21): several stand-ups per office, each with its own questions, schedule,
-- participants and way of posting; members' own reminder time and workdays; skipped days.
-- The daily report becomes the office's default check-in "Daily report" (Done / Plan /
-- Blockers / Hours). Its reports stay in dar_reports, which the summary, digest, stats and
-- exports read as before; every report of every check-in is also an entry with one answer
-- per question.

CREATE TABLE dar_checkins (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guild_id      BIGINT NOT NULL,
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    is_default    INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    channel_id    BIGINT,  -- where it posts; NULL: the reports channel
    kind          TEXT NOT NULL DEFAULT 'daily' CHECK (kind IN ('daily', 'weekly', 'once')),
    days          TEXT,     -- 'mon,fri' (daily / weekly); NULL: the office's workdays
    at_time       TEXT,     -- 'HH:MM': due (late after), summary; NULL: the office's dar_summary
    on_date       TEXT,     -- kind 'once': its date
    role_id       BIGINT,  -- participants; NULL: the staff role
    paused        INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    post_each     TEXT NOT NULL DEFAULT 'off' CHECK (post_each IN ('off', 'channel', 'thread')),
    post_summary  INTEGER NOT NULL DEFAULT 1 CHECK (post_summary IN (0, 1)),
    created_by    BIGINT NOT NULL,
    created_at    TEXT NOT NULL,
    deleted_at    TEXT,
    CHECK (kind <> 'once' OR on_date IS NOT NULL)
);
CREATE UNIQUE INDEX dar_checkins_name ON dar_checkins (guild_id, lower(name))
    WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX dar_checkins_default ON dar_checkins (guild_id) WHERE is_default = 1;

-- Up to 5 questions per check-in (a Discord modal holds 5 components). ``role`` says which
-- question plays which part: done (prefilled from completed tasks), plan, blockers (Make task),
-- hours; ``none`` for the rest. A removed question keeps its row for old answers.
CREATE TABLE dar_questions (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    checkin_id  BIGINT NOT NULL REFERENCES dar_checkins (id),
    position    INTEGER NOT NULL CHECK (position BETWEEN 1 AND 5),
    label       TEXT NOT NULL CHECK (length(label) BETWEEN 1 AND 45),
    kind        TEXT NOT NULL CHECK (kind IN ('short', 'long', 'number', 'choice')),
    unit        TEXT CHECK (unit IS NULL OR length(unit) BETWEEN 1 AND 20),
    options     TEXT,  -- kind 'choice': the options, one a line
    required    INTEGER NOT NULL DEFAULT 1 CHECK (required IN (0, 1)),
    role        TEXT NOT NULL DEFAULT 'none'
                CHECK (role IN ('done', 'plan', 'blockers', 'hours', 'none')),
    created_at  TEXT NOT NULL,
    removed_at  TEXT
);
CREATE UNIQUE INDEX dar_questions_position ON dar_questions (checkin_id, position)
    WHERE removed_at IS NULL;

-- Every label a question has had, from when (its first label included): what a report's
-- export column was called when it was filed.
CREATE TABLE dar_question_labels (
    question_id  BIGINT NOT NULL REFERENCES dar_questions (id),
    label        TEXT NOT NULL,
    since        TEXT NOT NULL,
    PRIMARY KEY (question_id, since)
);

-- One member's report (or skip) of one check-in for one day. For the default check-in
-- ``report_id`` is the dar_reports row.
CREATE TABLE dar_entries (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guild_id         BIGINT NOT NULL,
    checkin_id       BIGINT NOT NULL REFERENCES dar_checkins (id),
    user_id          BIGINT NOT NULL,
    day              TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('filed', 'skipped')),
    skip_reason      TEXT CHECK (skip_reason IS NULL OR length(skip_reason) BETWEEN 1 AND 200),
    report_id        BIGINT UNIQUE REFERENCES dar_reports (id),
    late             INTEGER NOT NULL DEFAULT 0 CHECK (late IN (0, 1)),
    submitted_at     TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    edits            INTEGER NOT NULL DEFAULT 0,
    post_channel_id  BIGINT,  -- the message the report was posted as (edits update it)
    post_message_id  BIGINT,
    UNIQUE (checkin_id, user_id, day)
);
CREATE INDEX dar_entries_day ON dar_entries (guild_id, checkin_id, day);

-- The answers of an entry, each under the label its question had when it was given.
CREATE TABLE dar_answers (
    entry_id     BIGINT NOT NULL REFERENCES dar_entries (id),
    question_id  BIGINT NOT NULL REFERENCES dar_questions (id),
    label        TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (entry_id, question_id)
);

-- The thread a check-in opened for a day's reports (post_each = 'thread').
CREATE TABLE dar_threads (
    checkin_id  BIGINT NOT NULL REFERENCES dar_checkins (id),
    day         TEXT NOT NULL,
    channel_id  BIGINT NOT NULL,
    thread_id   BIGINT NOT NULL,
    PRIMARY KEY (checkin_id, day)
);

-- A member's own rhythm: reminder time (in their own timezone) and workdays.
CREATE TABLE dar_member_rhythm (
    guild_id   BIGINT NOT NULL,
    user_id    BIGINT NOT NULL,
    remind_at  TEXT,  -- 'HH:MM' in the member's timezone; NULL: the office's dar_reminder
    workdays   TEXT,  -- 'mon,tue'; NULL: the office's workdays
    PRIMARY KEY (guild_id, user_id)
);

-- Today's daily report, as the default check-in of every office that has settings or reports.
INSERT INTO dar_checkins (guild_id, name, is_default, created_by, created_at)
SELECT guild_id, 'Daily report', 1, 0, '2026-01-01T00:00:00+00:00'
FROM (SELECT guild_id FROM guild_settings UNION SELECT guild_id FROM dar_reports) AS g;

INSERT INTO dar_questions (checkin_id, position, label, kind, unit, required, role, created_at)
SELECT c.id, q.position, q.label, q.kind, q.unit, q.required, q.role, c.created_at
FROM dar_checkins c, (
    SELECT 1 AS position, 'Done' AS label, 'long' AS kind, NULL AS unit, 1 AS required,
           'done' AS role
    UNION ALL SELECT 2, 'Plan', 'long', NULL, 1, 'plan'
    UNION ALL SELECT 3, 'Blockers', 'long', NULL, 0, 'blockers'
    UNION ALL SELECT 4, 'Hours', 'number', 'h', 0, 'hours'
) AS q
WHERE c.is_default = 1;

INSERT INTO dar_question_labels (question_id, label, since)
SELECT id, label, created_at FROM dar_questions;

INSERT INTO dar_entries (guild_id, checkin_id, user_id, day, status, report_id, late,
                         submitted_at, updated_at, edits)
SELECT r.guild_id, c.id, r.user_id, r.day, 'filed', r.id, r.late, r.submitted_at,
       r.updated_at, r.edits
FROM dar_reports r JOIN dar_checkins c ON c.guild_id = r.guild_id AND c.is_default = 1;

INSERT INTO dar_answers (entry_id, question_id, label, value)
SELECT e.id, q.id, q.label,
       CASE q.role
           WHEN 'done' THEN r.done
           WHEN 'plan' THEN r.plan
           WHEN 'blockers' THEN r.blockers
           ELSE CASE WHEN r.minutes % 60 = 0 THEN CAST(r.minutes / 60 AS TEXT)
                     ELSE CAST(r.minutes / 60 AS TEXT) || ':'
                          || lpad(CAST(r.minutes % 60 AS TEXT), 2, '0') END
       END
FROM dar_entries e
JOIN dar_reports r ON r.id = e.report_id
JOIN dar_questions q ON q.checkin_id = e.checkin_id
WHERE (q.role = 'done') OR (q.role = 'plan')
   OR (q.role = 'blockers' AND r.blockers IS NOT NULL)
   OR (q.role = 'hours' AND r.minutes IS NOT NULL);
