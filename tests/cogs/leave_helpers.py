"""Helpers shared by the leave end-to-end tests."""

from __future__ import annotations

from typing import Any

from concord.sandbox.driver import Message, Reply, Sandbox

LEAVE_TABLES = (
    "leave_types",
    "leave_allowances",
    "leave_requests",
    "leave_request_days",
    "leave_ledger",
    "holidays",
    "audit_log",
)


async def rows(sandbox: Sandbox, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    return [dict(row) for row in await sandbox.db.fetchall(sql, params)]


async def leave_state(sandbox: Sandbox) -> dict[str, list[dict[str, Any]]]:
    """Every leave table and the audit log, to prove a refused action changed nothing. Rows in
    a fixed order of their values (no ``rowid``: the same on PostgreSQL)."""
    return {
        table: sorted(await rows(sandbox, f"SELECT * FROM {table}"), key=repr)
        for table in LEAVE_TABLES
    }


async def request_row(sandbox: Sandbox, request_id: int) -> dict[str, Any]:
    (row,) = await rows(sandbox, "SELECT * FROM leave_requests WHERE id = ?", (request_id,))
    return row


async def apply(sandbox: Sandbox, actor: str = "bob", /, **options: Any) -> Reply:
    """``/leave apply`` as ``actor`` (Annual on Thu 3 Dec unless told otherwise)."""
    options.setdefault("leave_type", "Annual")
    options.setdefault("start", "2026-12-03")
    return await sandbox.slash(actor, "leave apply", **options)


def card(sandbox: Sandbox, request_id: int) -> Message:
    """The approval (or information) card of a request in #approvals."""
    for message in sandbox.messages("approvals"):
        for embed in message.embeds:
            if f"#{request_id} " in embed.get("title", ""):
                return message
    raise AssertionError(f"no card for request #{request_id} in #approvals")


async def debits(sandbox: Sandbox, request_id: int) -> list[dict[str, Any]]:
    return await rows(
        sandbox,
        "SELECT kind, year, amount FROM leave_ledger WHERE request_id = ? ORDER BY id",
        (request_id,),
    )


async def audit_actions(sandbox: Sandbox, subject: str) -> list[tuple[str, int]]:
    found = await rows(
        sandbox, "SELECT action, actor_id FROM audit_log WHERE subject = ? ORDER BY id", (subject,)
    )
    return [(r["action"], r["actor_id"]) for r in found]
