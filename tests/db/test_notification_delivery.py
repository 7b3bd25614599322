"""The claim → send → sent ledger of notifications (migration 0015), on both backends: a claim
whose sender died is taken again with the same nonce while Discord's nonce window lasts, never
twice at once, and given up (marked unknown) after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from concord.core.jobs import NONCE_LENGTH, notification_nonce
from concord.db.jobs import NONCE_WINDOW, SEND_LEASE, JobLedger
from concord.db.portable import Db

G = 1_000_000
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def test_a_claim_is_sent_once_with_a_stable_nonce(db: Db) -> None:
    ledger = JobLedger(db)
    nonce = await ledger.claim_delivery(G, "dar.reminder", "7:2026-12-01", T0)
    assert nonce == notification_nonce(G, "dar.reminder", "7:2026-12-01")
    assert nonce is not None and len(nonce) <= NONCE_LENGTH
    # In flight: nobody else sends it.
    assert await ledger.claim_delivery(G, "dar.reminder", "7:2026-12-01", T0) is None
    assert await ledger.delivery_status(G, "dar.reminder", "7:2026-12-01") == "claimed"
    await ledger.delivered(G, "dar.reminder", "7:2026-12-01")
    assert await ledger.delivery_status(G, "dar.reminder", "7:2026-12-01") == "sent"
    later = T0 + SEND_LEASE + timedelta(seconds=1)
    assert await ledger.claim_delivery(G, "dar.reminder", "7:2026-12-01", later) is None


async def test_a_claim_never_marked_sent_is_taken_again_after_its_lease_once(db: Db) -> None:
    ledger = JobLedger(db)
    first = await ledger.claim_delivery(G, "dar.summary", "2026-12-01:1", T0)
    assert (
        await ledger.claim_delivery(G, "dar.summary", "2026-12-01:1", T0 + SEND_LEASE / 2) is None
    )
    retry = T0 + SEND_LEASE + timedelta(seconds=1)
    again = await ledger.claim_delivery(G, "dar.summary", "2026-12-01:1", retry)
    assert again == first  # the same nonce: Discord returns the first message if it got there
    # The retry holds a lease of its own.
    assert await ledger.claim_delivery(G, "dar.summary", "2026-12-01:1", retry) is None


async def test_past_the_nonce_window_a_claim_is_given_up_not_sent_twice(
    db: Db, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = JobLedger(db)
    assert await ledger.claim_delivery(G, "task.due_soon", "12", T0) is not None
    late = T0 + NONCE_WINDOW + timedelta(seconds=1)
    assert await ledger.claim_delivery(G, "task.due_soon", "12", late) is None
    assert await ledger.delivery_status(G, "task.due_soon", "12") == "unknown"
    assert "not sent again (marked unknown)" in caplog.text
    assert await ledger.claim_delivery(G, "task.due_soon", "12", late) is None


async def test_one_message_for_several_claims_marks_them_all_at_once(db: Db) -> None:
    ledger = JobLedger(db)
    for key in ("1:2026-12-01", "2:2026-12-01"):
        assert await ledger.claim_delivery(G, "leave.reminder", key, T0) is not None
    await ledger.delivered(G, "leave.reminder", "1:2026-12-01", "2:2026-12-01")
    assert {
        await ledger.delivery_status(G, "leave.reminder", k)
        for k in ("1:2026-12-01", "2:2026-12-01")
    } == {"sent"}


async def test_settled_notifications_are_never_sent(db: Db) -> None:
    ledger = JobLedger(db)
    assert await ledger.claim_notification(G, "dar.reminder", "8:2026-12-01", T0)
    assert await ledger.delivery_status(G, "dar.reminder", "8:2026-12-01") == "sent"
    later = T0 + SEND_LEASE * 2
    assert await ledger.claim_delivery(G, "dar.reminder", "8:2026-12-01", later) is None


def test_nonces_differ_by_guild_kind_and_key() -> None:
    nonces = {
        notification_nonce(g, kind, key)
        for g in (1, 2)
        for kind in ("dar.reminder", "dar.summary")
        for key in ("1:2026-12-01", "2:2026-12-01")
    }
    assert len(nonces) == 8 and all(len(n) == NONCE_LENGTH for n in nonces)
