-- Leave: types and policies, per-member allowances, requests with their per-day amounts, the
-- balance ledger and public holidays. Day amounts are exact fractions stored as text
-- ('1', '1/2', '2/15'), summed in Python; dates are ISO text in the guild's local calendar.

CREATE TABLE leave_types (
    id                INTEGER PRIMARY KEY,
    guild_id          INTEGER NOT NULL,
    name              TEXT NOT NULL COLLATE NOCASE,
    allowance         TEXT,  -- days a year; NULL = no balance (e.g. Unpaid)
    accrual           TEXT NOT NULL DEFAULT 'upfront' CHECK (accrual IN ('upfront', 'monthly')),
    carryover_cap     TEXT NOT NULL DEFAULT '0',
    deducts           INTEGER NOT NULL DEFAULT 1 CHECK (deducts IN (0, 1)),
    requires_approval INTEGER NOT NULL DEFAULT 1 CHECK (requires_approval IN (0, 1)),
    allow_negative    INTEGER NOT NULL DEFAULT 0 CHECK (allow_negative IN (0, 1)),
    since_year        INTEGER NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    UNIQUE (guild_id, name)
);

-- A member's own allowance for a type (replaces the type's allowance for every year).
CREATE TABLE leave_allowances (
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    type_id    INTEGER NOT NULL REFERENCES leave_types (id),
    allowance  TEXT NOT NULL,
    set_by     INTEGER NOT NULL,
    set_at     TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id, type_id)
);

CREATE TABLE leave_requests (
    id               INTEGER PRIMARY KEY,
    guild_id         INTEGER NOT NULL,
    user_id          INTEGER NOT NULL,
    type_id          INTEGER NOT NULL REFERENCES leave_types (id),
    type_name        TEXT NOT NULL,  -- as it was named when requested
    start_date       TEXT NOT NULL,
    end_date         TEXT NOT NULL,
    portion          TEXT NOT NULL
        CHECK (portion IN ('full_day', 'half_day_am', 'half_day_pm', 'off_duty')),
    from_time        TEXT,
    to_time          TEXT,
    amount           TEXT NOT NULL,  -- working days, fixed when requested
    deducts          INTEGER NOT NULL CHECK (deducts IN (0, 1)),  -- fixed when requested
    reason           TEXT,
    status           TEXT NOT NULL
        CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled')),
    filed_by         INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    decided_by       INTEGER,
    decided_at       TEXT,
    decision_note    TEXT,
    cancelled_by     INTEGER,
    cancelled_at     TEXT,
    card_channel_id  INTEGER,
    card_message_id  INTEGER,
    CHECK (end_date >= start_date)
);
CREATE INDEX leave_requests_member ON leave_requests (guild_id, user_id, start_date);
CREATE INDEX leave_requests_status ON leave_requests (guild_id, status, created_at);

-- The working days a request takes and how much of each, fixed when requested.
CREATE TABLE leave_request_days (
    request_id  INTEGER NOT NULL REFERENCES leave_requests (id),
    day         TEXT NOT NULL,
    amount      TEXT NOT NULL,
    PRIMARY KEY (request_id, day)
);
CREATE INDEX leave_request_days_day ON leave_request_days (day);

-- The balance ledger: debits on approval, exact credits on cancellation of approved leave,
-- manual adjustments. Entitlement and carry-over follow from the policy and are summed on read.
CREATE TABLE leave_ledger (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    type_id     INTEGER NOT NULL REFERENCES leave_types (id),
    year        INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('debit', 'credit', 'adjustment')),
    amount      TEXT NOT NULL,  -- signed days: debits negative, credits positive
    request_id  INTEGER REFERENCES leave_requests (id),
    reason      TEXT,
    actor_id    INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX leave_ledger_member ON leave_ledger (guild_id, user_id, type_id, year);
CREATE INDEX leave_ledger_request ON leave_ledger (request_id);

CREATE TRIGGER leave_ledger_no_update BEFORE UPDATE ON leave_ledger
BEGIN SELECT RAISE(ABORT, 'leave_ledger is append-only'); END;
CREATE TRIGGER leave_ledger_no_delete BEFORE DELETE ON leave_ledger
BEGIN SELECT RAISE(ABORT, 'leave_ledger is append-only'); END;

-- Days off for everyone; a holiday is not a working day, so leave on it takes nothing.
CREATE TABLE holidays (
    guild_id  INTEGER NOT NULL,
    day       TEXT NOT NULL,
    name      TEXT NOT NULL,
    source    TEXT NOT NULL,  -- 'manual' or 'import:<country>[-<subdivision>]'
    added_by  INTEGER NOT NULL,
    added_at  TEXT NOT NULL,
    PRIMARY KEY (guild_id, day)
);
