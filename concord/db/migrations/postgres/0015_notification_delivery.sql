-- Twin of ../0015_notification_delivery.sql: claimed → sent (with a Discord message nonce),
-- re-sent with the same nonce within Discord's window when the sender died, else 'unknown'.
ALTER TABLE notifications_sent ADD COLUMN status text NOT NULL DEFAULT 'sent'
    CHECK (status IN ('claimed', 'sent', 'unknown'));
ALTER TABLE notifications_sent ADD COLUMN attempt_at text;
