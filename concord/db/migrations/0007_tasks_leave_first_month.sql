-- Issue 16: why a task is blocked, whether a repeating task skips holidays, archived leave types.

-- The reason given when the task was last blocked (shown on its card while it is blocked).
ALTER TABLE tasks ADD COLUMN block_reason TEXT
    CHECK (block_reason IS NULL OR length(block_reason) BETWEEN 1 AND 500);

-- A repeat that would land on a holiday moves to the next working day (or, for a weekly or
-- monthly series, the working day before). Every working day series always skipped holidays.
ALTER TABLE tasks ADD COLUMN skip_holidays INTEGER NOT NULL DEFAULT 0
    CHECK (skip_holidays IN (0, 1));
UPDATE tasks SET skip_holidays = 1 WHERE repeat = 'weekdays';
-- The date an occurrence moved off a holiday was due by its series' rhythm: the next one
-- follows the rhythm, not the moved day.
ALTER TABLE tasks ADD COLUMN rhythm_date TEXT;

-- A retired leave type: gone from choices and balances, its requests and ledger kept.
ALTER TABLE leave_types ADD COLUMN archived_at TEXT;
