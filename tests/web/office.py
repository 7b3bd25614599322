"""A seeded office for the web tests: December 2026 with every kind of leave, a holiday, member
names and three feed links (a member's office feed, a manager's office feed, a personal one),
written through the real managers on a real migrated database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

from concord.core.actor import Actor
from concord.core.leave import Portion
from concord.db.database import Database
from concord.db.leave import LeaveManager
from concord.db.leave.feeds import FeedKind, FeedManager

GUILD = 1
ALICE, BOB, CAROL, DAVE = 10, 11, 12, 13  # Alice is the manager
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
NAMES = [(ALICE, "Alice"), (BOB, "Bob"), (CAROL, "Carol"), (DAVE, "Dave")]
MANAGER = Actor(ALICE, is_manager=True, can_approve_leave=True)


@dataclass(frozen=True)
class Office:
    db: Database  # the bot's side, still open: writes go through it
    db_path: Path
    member_office: str  # Carol's office feed: no types or reasons of others
    manager_office: str  # Alice's: types and reasons
    bob_personal: str


async def seed_office(db: Database) -> Office:
    leave, feeds = LeaveManager(db), FeedManager(db)
    await feeds.store_names(GUILD, NAMES, now=NOW)
    await leave.add_holiday(GUILD, date(2026, 12, 25), "Christmas Day", actor=MANAGER, now=NOW)

    async def ask(user: int, start: date, approve: bool = True, **options: object) -> None:
        options.setdefault("leave_type", "Annual")
        result = await leave.apply(
            GUILD,
            actor=Actor(user),
            user_id=user,
            start=start,
            now=NOW,
            **options,  # type: ignore[arg-type]
        )
        if approve and result.needs_approval:
            await leave.approve(GUILD, result.request.id, actor=MANAGER, now=NOW)

    await ask(BOB, date(2026, 12, 7), end=date(2026, 12, 8), reason="family visit")
    await ask(
        CAROL, date(2026, 12, 9), approve=False, portion=Portion.HALF_DAY_AM, reason="dentist"
    )
    await ask(DAVE, date(2026, 12, 10), portion=Portion.HALF_DAY_PM)
    await ask(
        CAROL,
        date(2026, 12, 11),
        portion=Portion.OFF_DUTY,
        from_time=time(14, 0),
        to_time=time(16, 0),
        leave_type="Casual",
    )
    await ask(BOB, date(2026, 12, 14), leave_type="Work from home")
    await ask(DAVE, date(2026, 12, 15), approve=False, reason="moving house")
    member = await feeds.issue(GUILD, Actor(CAROL), FeedKind.OFFICE, None, now=NOW)
    manager = await feeds.issue(GUILD, MANAGER, FeedKind.OFFICE, None, now=NOW)
    personal = await feeds.issue(GUILD, Actor(BOB), FeedKind.PERSONAL, None, now=NOW)
    assert member.token and manager.token and personal.token
    return Office(db, db.path, member.token, manager.token, personal.token)
