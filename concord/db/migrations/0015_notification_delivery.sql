-- Exactly-once notifications (issue 14): a notification is claimed, then sent with a Discord
-- message nonce derived from its claim (enforce_nonce), then marked sent. A claim whose process
-- died before marking it is sent again with the same nonce (Discord returns the first message
-- if it got there), but only within Discord's nonce window; past it the claim is marked
-- 'unknown' instead. Rows from before this migration were sent (or lost): 'sent'.
-- status: 'claimed' (being sent), 'sent' (delivered, or settled without a message), 'unknown'.
-- attempt_at: when the current attempt took the claim (its lease runs from there).
ALTER TABLE notifications_sent ADD COLUMN status TEXT NOT NULL DEFAULT 'sent'
    CHECK (status IN ('claimed', 'sent', 'unknown'));
ALTER TABLE notifications_sent ADD COLUMN attempt_at TEXT;
