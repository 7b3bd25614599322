"""Check-ins in the database (issue 21): :class:`CheckinManager`, the async face the cog uses,
over the transaction functions (``checkin_transactions``) and the rows (``checkin_records``),
and the check-in export (:class:`CheckinExport`).

Every office has a default check-in "Daily report" (made by migration 0013 for the offices that
existed, on first use for new ones). Its reports stay in ``dar_reports`` (``submit_report``
mirrors them as an entry with answers); the other check-ins' reports are entries only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import IO
from zoneinfo import ZoneInfo

from concord.core.actor import Actor
from concord.core.checkins import (
    DEFAULT_NAME,
    CheckIn,
    Question,
    QuestionDraft,
)
from concord.core.schedule import parse_hhmm, parse_workdays
from concord.core.text import escape_markdown
from concord.db.dar.checkin_records import (
    CheckinChanges,
    Entry,
    EntryResult,
    Rhythm,
    checkin_from_row,
    question_from_row,
    read_entry,
    read_questions,
)
from concord.db.dar.checkin_transactions import (
    create_checkin,
    delete_checkin,
    edit_checkin,
    ensure_default,
    mirror_report,
    save_questions,
    save_thread,
    set_paused,
    set_post,
    set_rhythm,
    skip_day,
    submit_entry,
)
from concord.db.dar_export import write_table
from concord.db.portable import Conn, Db
from concord.errors import NotFound

log: logging.Logger = logging.getLogger(__name__)

__all__ = [
    "CheckinChanges",
    "CheckinExport",
    "CheckinManager",
    "Entry",
    "EntryResult",
    "Rhythm",
    "mirror_report",
]


# -- the async face --------------------------------------------------------------------------
class CheckinManager:
    def __init__(self, db: Db) -> None:
        self.db = db

    async def default(self, guild_id: int, now: datetime) -> CheckIn:
        async def made() -> int:
            return await self.db.write(ensure_default, guild_id, now)

        row = await self.db.fetchone(
            "SELECT id FROM dar_checkins WHERE guild_id = ? AND is_default = 1", (guild_id,)
        )
        checkin_id = int(row["id"]) if row else await made()
        return await self.get(guild_id, checkin_id)

    async def settled(self, guild_id: int, checkin_id: int, day: date, kind: str) -> set[int]:
        """Members already asked (``kind`` claimed, keys ``<check-in>:<day>:<user>``) or with an
        entry for ``day``: two reads on index ranges before a pass does anything for anyone."""
        prefix = f"{checkin_id}:{day.isoformat()}:"
        claimed = await self.db.fetchall(
            "SELECT key FROM notifications_sent WHERE guild_id = ? AND kind = ?"
            " AND key >= ? AND key < ? AND status <> 'claimed'",
            (guild_id, kind, prefix, prefix[:-1] + ";"),  # ';' follows ':'
        )
        done = {int(row["key"].rsplit(":", 1)[1]) for row in claimed}
        rows = await self.db.fetchall(
            "SELECT user_id FROM dar_entries WHERE checkin_id = ? AND day = ?",
            (checkin_id, day.isoformat()),
        )
        return done | {int(row["user_id"]) for row in rows}

    async def daily_paused(self, guild_id: int) -> bool:
        """Whether the office paused its Daily report (no reminders then)."""
        row = await self.db.fetchone(
            "SELECT paused FROM dar_checkins WHERE guild_id = ? AND is_default = 1", (guild_id,)
        )
        return bool(row and row["paused"])

    async def guild_of(self, checkin_id: int) -> int:
        row = await self.db.fetchone(
            "SELECT guild_id FROM dar_checkins WHERE id = ? AND deleted_at IS NULL", (checkin_id,)
        )
        if row is None:
            raise NotFound("That check-in does not exist (any more).")
        return int(row["guild_id"])

    async def get(self, guild_id: int, checkin_id: int) -> CheckIn:
        row = await self.db.fetchone(
            "SELECT * FROM dar_checkins WHERE id = ? AND guild_id = ? AND deleted_at IS NULL",
            (checkin_id, guild_id),
        )
        if row is None:
            raise NotFound("That check-in does not exist (any more).")
        return checkin_from_row(row, await self._questions(checkin_id))

    async def _questions(self, checkin_id: int) -> list[Question]:
        rows = await self.db.fetchall(
            "SELECT * FROM dar_questions WHERE checkin_id = ? AND removed_at IS NULL"
            " ORDER BY position",
            (checkin_id,),
        )
        return [question_from_row(row) for row in rows]

    async def all(self, guild_id: int) -> list[CheckIn]:
        """The office's check-ins, the default one first (none before the DAR is used)."""
        rows = await self.db.fetchall(
            "SELECT * FROM dar_checkins WHERE guild_id = ? AND deleted_at IS NULL"
            " ORDER BY is_default DESC, lower(name)",
            (guild_id,),
        )
        return [checkin_from_row(row, await self._questions(row["id"])) for row in rows]

    async def by_name(self, guild_id: int, name: str, now: datetime) -> CheckIn:
        row = await self.db.fetchone(
            "SELECT id FROM dar_checkins WHERE guild_id = ? AND lower(name) = lower(?)"
            " AND deleted_at IS NULL",
            (guild_id, name.strip()),
        )
        if row is None:
            if name.strip().lower() == DEFAULT_NAME.lower():
                return await self.default(guild_id, now)
            raise NotFound(
                f"There is no check-in called **{escape_markdown(name.strip())}**; see "
                "`/dar checkin list`."
            )
        return await self.get(guild_id, int(row["id"]))

    async def names(self, guild_id: int) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT name FROM dar_checkins WHERE guild_id = ? AND deleted_at IS NULL"
            " ORDER BY is_default DESC, lower(name)",
            (guild_id,),
        )
        return [row["name"] for row in rows] or [DEFAULT_NAME]

    async def create(
        self, guild_id: int, actor: Actor, changes: CheckinChanges, now: datetime
    ) -> CheckIn:
        return await self.db.write(create_checkin, guild_id, actor, changes, now)

    async def edit(
        self, guild_id: int, checkin_id: int, actor: Actor, changes: CheckinChanges, now: datetime
    ) -> CheckIn:
        return await self.db.write(edit_checkin, guild_id, checkin_id, actor, changes, now)

    async def pause(
        self, guild_id: int, checkin_id: int, actor: Actor, paused: bool, now: datetime
    ) -> bool:
        return await self.db.write(set_paused, guild_id, checkin_id, actor, paused, now)

    async def delete(self, guild_id: int, checkin_id: int, actor: Actor, now: datetime) -> str:
        return await self.db.write(delete_checkin, guild_id, checkin_id, actor, now)

    async def save_questions(
        self,
        guild_id: int,
        checkin_id: int,
        actor: Actor,
        drafts: Sequence[QuestionDraft | None],
        now: datetime,
    ) -> CheckIn:
        return await self.db.write(save_questions, guild_id, checkin_id, actor, drafts, now)

    async def submit(
        self,
        guild_id: int,
        checkin_id: int,
        user_id: int,
        day: date,
        answers: Mapping[int, str],
        now: datetime,
    ) -> EntryResult:
        return await self.db.write(submit_entry, guild_id, checkin_id, user_id, day, answers, now)

    async def entry(self, checkin_id: int, user_id: int, day: date) -> Entry | None:
        row = await self.db.fetchone(
            "SELECT id FROM dar_entries WHERE checkin_id = ? AND user_id = ? AND day = ?",
            (checkin_id, user_id, day.isoformat()),
        )
        if row is None:
            return None
        return await self.db.read_in_thread(read_entry, int(row["id"]))

    async def entry_by_id(self, guild_id: int, entry_id: int) -> Entry:
        row = await self.db.fetchone(
            "SELECT id FROM dar_entries WHERE id = ? AND guild_id = ?", (entry_id, guild_id)
        )
        if row is None:
            raise NotFound("That report does not exist in this server.")
        return await self.db.read_in_thread(read_entry, int(row["id"]))

    async def entries_on(self, checkin_id: int, day: date) -> list[Entry]:
        rows = await self.db.fetchall(
            "SELECT id FROM dar_entries WHERE checkin_id = ? AND day = ? ORDER BY user_id",
            (checkin_id, day.isoformat()),
        )
        return [await self.db.read_in_thread(read_entry, int(row["id"])) for row in rows]

    async def skip(
        self, guild_id: int, user_id: int, day: date, reason: str | None, now: datetime
    ) -> bool:
        return await self.db.write(skip_day, guild_id, user_id, day, reason, now)

    async def set_post(self, entry_id: int, channel_id: int, message_id: int) -> None:
        await self.db.write(set_post, entry_id, channel_id, message_id)

    async def thread(self, checkin_id: int, day: date) -> int | None:
        row = await self.db.fetchone(
            "SELECT thread_id FROM dar_threads WHERE checkin_id = ? AND day = ?",
            (checkin_id, day.isoformat()),
        )
        return int(row["thread_id"]) if row else None

    async def save_thread(self, checkin_id: int, day: date, channel_id: int, thread_id: int) -> int:
        return await self.db.write(save_thread, checkin_id, day, channel_id, thread_id)

    async def set_rhythm(
        self,
        guild_id: int,
        user_id: int,
        remind_at: time | None,
        workdays: frozenset[int] | None,
        now: datetime,
        *,
        clear: bool = False,
    ) -> None:
        await self.db.write(set_rhythm, guild_id, user_id, remind_at, workdays, clear, now)

    async def export(self, job: CheckinExport, out: IO[bytes]) -> int:
        return await self.db.read_in_thread(job.run, out)

    async def guilds_with_checkins(self) -> set[int]:
        """Guilds with a live check-in besides the Daily report: the only ones the check-in
        tick job can have work in (a pass costs what is due, not what exists: issue 14)."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT guild_id FROM dar_checkins WHERE is_default = 0 AND paused = 0"
        )
        return {int(r["guild_id"]) for r in rows}

    async def guilds_with_own_times(self) -> set[int]:
        """Guilds where some member set their own reminder time (``/dar remind``)."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT guild_id FROM dar_member_rhythm WHERE remind_at IS NOT NULL"
        )
        return {int(r["guild_id"]) for r in rows}

    async def rhythms(self, guild_id: int) -> dict[int, Rhythm]:
        rows = await self.db.fetchall(
            "SELECT user_id, remind_at, workdays FROM dar_member_rhythm WHERE guild_id = ?",
            (guild_id,),
        )
        return {
            row["user_id"]: Rhythm(
                parse_hhmm(row["remind_at"]) if row["remind_at"] else None,
                parse_workdays(row["workdays"]) if row["workdays"] else None,
            )
            for row in rows
        }


# -- exports ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckinExport:
    """A check-in's reports of [start, end] as CSV or XLSX: date, member, one column per
    question (a question renamed later keeps its old label as the column of the answers given
    under it), submitted at, late, skipped. Run by ``db.read_in_thread``."""

    guild_id: int
    checkin_id: int
    start: str
    end: str
    user_id: int | None
    names: Mapping[int, str]
    zone: ZoneInfo
    fmt: str

    def run(self, conn: Conn, out: IO[bytes]) -> int:
        window = (self.guild_id, self.checkin_id, self.start, self.end, self.user_id, self.user_id)
        entries = conn.execute(
            "SELECT e.id, e.user_id, e.day, e.status, e.skip_reason, e.late, e.submitted_at"
            " FROM dar_entries e WHERE e.guild_id = ? AND e.checkin_id = ?"
            " AND e.day BETWEEN ? AND ? AND (CAST(? AS BIGINT) IS NULL OR e.user_id = ?)"
            " ORDER BY e.day, e.user_id",
            window,
        ).fetchall()
        answers = conn.execute(
            "SELECT a.entry_id, a.question_id, a.label, a.value, q.position FROM dar_answers a"
            " JOIN dar_entries e ON e.id = a.entry_id JOIN dar_questions q ON q.id = a.question_id"
            " WHERE e.guild_id = ? AND e.checkin_id = ? AND e.day BETWEEN ? AND ?"
            " AND (CAST(? AS BIGINT) IS NULL OR e.user_id = ?)",
            window,
        ).fetchall()
        columns: dict[tuple[int, int, str], None] = {}
        for question in read_questions(conn, self.checkin_id):
            columns[(question.position, question.id, question.label)] = None
        for row in sorted(answers, key=lambda r: (r["position"], r["question_id"])):
            columns.setdefault((row["position"], row["question_id"], row["label"]), None)
        keys = sorted(columns, key=lambda k: (k[0], k[1]))
        index = {(k[1], k[2]): i for i, k in enumerate(keys)}
        header = ["date", "member", *_unique([k[2] for k in keys])]
        header += ["submitted at", "late", "skipped"]
        by_entry: dict[int, list[str]] = {}
        for row in answers:
            cells = by_entry.setdefault(row["entry_id"], [""] * len(keys))
            cells[index[(row["question_id"], row["label"])]] = row["value"]
        table: list[list[str]] = []
        for entry in entries:
            skipped = entry["status"] == "skipped"
            table.append(
                [
                    entry["day"],
                    self.names.get(entry["user_id"]) or str(entry["user_id"]),
                    *by_entry.get(entry["id"], [""] * len(keys)),
                    datetime.fromisoformat(entry["submitted_at"])
                    .astimezone(self.zone)
                    .isoformat(timespec="seconds"),
                    "yes" if entry["late"] and not skipped else "no",
                    (entry["skip_reason"] or "yes") if skipped else "",
                ]
            )
        write_table(self.fmt, out, header, table)
        return len(table)


def _unique(labels: list[str]) -> list[str]:
    """Column names, a repeated label numbered (``Mood``, ``Mood (2)``)."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out
