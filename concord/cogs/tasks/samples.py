"""Sandbox fixtures of the Tasks module: sample objects the cross-guild test fills offices
with (``sandbox`` is a ``concord.sandbox.driver.Sandbox``, not imported: it drives the bot)."""

from __future__ import annotations

from typing import Any


async def sample(sandbox: Any, marker: str, manager: str, other: str) -> None:
    """Tasks (one unassigned), a comment and a board, named with ``marker``."""
    created = []
    for title, assignee in ((f"{marker} report", "bob"), (f"{marker} open job", None)):
        options: dict[str, Any] = {"title": title, "due": "2026-12-04", "repeat": "weekly"}
        if assignee:
            options["assignee"] = assignee
        reply = await sandbox.slash(manager, "task create", **options)
        assert "Created task #" in reply.text, reply.text
        created.append(int(reply.text.split("Created task #")[1].split()[0]))
    await sandbox.slash("bob", "task comment", task=f"#{created[0]}", text=f"{marker} comment")
    await sandbox.slash(manager, "task board", _channel="tasks")
