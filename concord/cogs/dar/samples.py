"""Sandbox fixtures of the DAR module: sample objects the cross-guild test fills offices
with (``sandbox`` is a ``concord.sandbox.driver.Sandbox``, not imported: it drives the bot)."""

from __future__ import annotations

from typing import Any


async def sample(sandbox: Any, marker: str, manager: str, other: str) -> None:
    """bob's daily report with a blocker, named with ``marker``."""
    form = (await sandbox.slash("bob", "dar submit")).modal
    assert form is not None
    fields = {"done": f"{marker} done", "plan": f"{marker} plan", "blockers": f"{marker} blocker"}
    filed = await sandbox.submit("bob", form, **fields)
    assert "is filed" in filed.text, filed.text
