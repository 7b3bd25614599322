"""Leave teams (issue 20): teams with their own approvers, a limit on how many of a team may be
out at once (``max_out``), and blackout days. Pure rules: who decides a member's leave, the
first day a request would take a team over its limit, the blackouts a request touches, and the
sentences that say so."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from concord.core.text import escape_markdown
from concord.errors import UserError

MAX_TEAM_NAME = 40
MAX_BLACKOUT_REASON = 200
MAX_OVERRIDE_NOTE = 200


@dataclass(frozen=True)
class Team:
    id: int
    guild_id: int
    name: str
    approver_role_id: int | None = None
    max_out: int | None = None  # None: no limit
    members: tuple[int, ...] = ()
    approvers: tuple[int, ...] = ()  # approvers named one by one (besides the role)


@dataclass(frozen=True)
class Blackout:
    id: int
    guild_id: int
    team_id: int | None  # None: the whole office
    team_name: str | None
    start: date
    end: date
    reason: str

    def where(self) -> str:
        return self.team_name if self.team_name is not None else "the whole office"


@dataclass(frozen=True)
class Routing:
    """Who decides a member's leave: the approvers of their teams (people named one by one and
    approver roles, never the member themselves), or — when they are in no team, or their
    teams have no approver but them — whoever decides leave for everyone (managers and the
    guild's leave approver role). Managers can always decide."""

    requester_id: int
    teams: tuple[Team, ...]

    @property
    def approver_ids(self) -> frozenset[int]:
        return frozenset(u for t in self.teams for u in t.approvers if u != self.requester_id)

    @property
    def approver_role_ids(self) -> frozenset[int]:
        return frozenset(t.approver_role_id for t in self.teams if t.approver_role_id is not None)

    @property
    def routed(self) -> bool:
        """Do the requester's teams name an approver other than the requester?"""
        return bool(self.approver_ids or self.approver_role_ids)

    def team_approves(self, user_id: int, role_ids: Iterable[int]) -> bool:
        if user_id == self.requester_id:
            return False
        return user_id in self.approver_ids or bool(self.approver_role_ids & set(role_ids))

    def may_decide(
        self, user_id: int, *, is_manager: bool, decides_leave: bool, role_ids: Iterable[int]
    ) -> bool:
        """Whether ``user_id`` may approve or reject (no self-approval is checked apart)."""
        if is_manager or self.team_approves(user_id, role_ids):
            return True
        return decides_leave and not self.routed

    def refusal(self, request_id: int) -> str:
        names = ", ".join(t.name for t in self.teams if t.approvers or t.approver_role_id)
        return (
            f"Request #{request_id} is for the approvers of {names} or a manager to decide."
            if self.routed
            else "Only managers can do that (the Manager role or the leave approver role, "
            "Manage Server or the owner)."
        )


def validate_team_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise UserError("Give the team a name, e.g. `Support`.")
    if len(cleaned) > MAX_TEAM_NAME:
        raise UserError(f"A team name can be at most {MAX_TEAM_NAME} characters long.")
    return cleaned


def validate_max_out(max_out: int | None) -> int | None:
    if max_out is not None and max_out < 1:
        raise UserError("`max_out` is at least 1 (how many of the team may be out at once).")
    return max_out


def validate_note(note: str | None, *, what: str, limit: int) -> str | None:
    if note is None:
        return None
    cleaned = " ".join(note.split())
    if len(cleaned) > limit:
        raise UserError(f"The {what} can be at most {limit} characters long.")
    return cleaned or None


def short_day(day: date) -> str:
    """``Tue 15 Dec``."""
    return f"{day:%a} {day.day} {day:%b}"


def describe_span(start: date, end: date) -> str:
    return short_day(start) if start == end else f"{short_day(start)} – {short_day(end)}"


@dataclass(frozen=True)
class OverLimit:
    team: str
    day: date
    count: int  # out that day with this request
    limit: int

    def sentence(self) -> str:
        """``3 of Support would be out on Tue 15 Dec — the limit is 2``."""
        return (
            f"{self.count} of {self.team} would be out on {short_day(self.day)} — "
            f"the limit is {self.limit}"
        )


def first_over_limit(
    team: Team, days: Sequence[date], others_out: Mapping[date, int]
) -> OverLimit | None:
    """The first of ``days`` on which the requester and ``others_out`` of the team (other
    members already out) would be more than the team's ``max_out``."""
    if team.max_out is None:
        return None
    for day in sorted(days):
        count = others_out.get(day, 0) + 1
        if count > team.max_out:
            return OverLimit(team.name, day, count, team.max_out)
    return None


def blackouts_touching(blackouts: Iterable[Blackout], days: Sequence[date]) -> list[Blackout]:
    """The blackouts on any of ``days`` (the working days a request takes)."""
    return [b for b in blackouts if any(b.start <= day <= b.end for day in days)]


def blackout_sentence(blackout: Blackout) -> str:
    """``Leave is blocked on Mon 14 Dec – Tue 15 Dec for Support: launch week``."""
    return (
        f"Leave is blocked on {describe_span(blackout.start, blackout.end)} for "
        f"{blackout.where()}: {blackout.reason}"
    )


class LimitReached(UserError):
    """Approving would take a team over its ``max_out``: an approver may approve anyway."""

    def __init__(self, request_id: int, over: OverLimit) -> None:
        self.request_id = request_id
        self.over = over
        super().__init__(
            f"Cannot approve #{request_id} yet: {escape_markdown(over.sentence())}. To approve it anyway, use "
            "**Approve anyway** on its card."
        )
