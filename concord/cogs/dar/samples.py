"""Sandbox fixtures of the DAR module: sample objects the cross-guild test fills offices with."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concord.sandbox.driver import Sandbox


async def sample(sandbox: Sandbox, marker: str, manager: str, other: str) -> None:
    """bob's daily report with a blocker, named with ``marker``."""
    form = (await sandbox.slash("bob", "dar submit")).modal
    assert form is not None
    fields = {"done": f"{marker} done", "plan": f"{marker} plan", "blockers": f"{marker} blocker"}
    filed = await sandbox.submit("bob", form, **fields)
    assert "is filed" in filed.text, filed.text
