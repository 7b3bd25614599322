"""Sandbox fixtures of the Leave module: sample objects the cross-guild test fills offices
with (``sandbox`` is a ``concord.sandbox.driver.Sandbox``, not imported: it drives the bot)."""

from __future__ import annotations

from typing import Any


async def sample(sandbox: Any, marker: str, manager: str, other: str) -> None:
    """Pending and approved leave, a holiday and a leave type, named with ``marker``."""
    requests = []
    for member, day in (("bob", "2026-12-03"), (other, "2026-12-04")):
        reply = await sandbox.slash(
            member, "leave apply", leave_type="Annual", start=day, reason=f"{marker} trip"
        )
        # bob asks for the same day in both offices: neither request blocks the other, and
        # each balance counts its own office's leave only.
        assert "14 → **13**" in reply.text, reply.text
        requests.append(int(reply.text.split("Request #")[1].split()[0]))
    card = next(
        m
        for m in sandbox.messages("approvals")
        if any(b.custom_id == f"leave:approve:{requests[1]}" for b in m.buttons)
    )
    await sandbox.click(manager, card, custom_id=f"leave:approve:{requests[1]}")
    await sandbox.slash(manager, "leave holiday add", date="2026-12-24", name=f"{marker} day")
    await sandbox.slash(manager, "leave policy", leave_type=f"{marker} leave", allowance="5")
