"""Check-ins (issue 21): an office's stand-ups, each with its own questions (at most five, the
most a Discord modal holds), schedule, participants and way of posting. The daily report is
the office's default check-in "Daily report" (Done / Plan / Blockers / Hours).

Pure: the dataclasses, the parsing of a question line (``Mood; choice 1/2/3/4/5; optional``),
the checking of an answer against its question, and which days a check-in runs on.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time

from concord.core.dar import parse_hours
from concord.core.schedule import WEEKDAYS, describe_workdays, format_hhmm, parse_workdays
from concord.core.text import clip, without_control
from concord.errors import UserError

MAX_QUESTIONS = 5  # a Discord modal holds at most five components
LABEL_MAX = 45  # a modal field's label
NAME_MAX = 60
ANSWER_MAX = 4000
SHORT_MAX = 200
UNIT_MAX = 20
OPTIONS_MAX = 10
OPTION_MAX = 40
SKIP_REASON_MAX = 200
QUESTION_KINDS = ("short", "long", "number", "choice")
ROLES = ("done", "plan", "blockers", "hours", "none")
SCHEDULES = ("daily", "weekly", "once")
POST_EACH = ("off", "channel", "thread")
DEFAULT_NAME = "Daily report"

_NUMBER: re.Pattern[str] = re.compile(r"^-?\d{1,9}(?:[.,]\d{1,4})?$")


@dataclass(frozen=True)
class Question:
    id: int
    position: int
    label: str
    kind: str
    unit: str | None = None
    options: tuple[str, ...] = ()
    required: bool = True
    role: str = "none"

    def spec(self) -> str:
        """The question as a line of ``/dar questions`` (what its form shows)."""
        parts = [self.label]
        if self.kind == "number":
            parts.append(f"number {self.unit}" if self.unit else "number")
        elif self.kind == "choice":
            parts.append("choice " + "/".join(self.options))
        else:
            parts.append(self.kind)
        parts.append("required" if self.required else "optional")
        if self.role != "none":
            parts.append(self.role)
        return "; ".join(parts)

    @property
    def placeholder(self) -> str:
        if self.kind == "choice":
            return clip("One of: " + ", ".join(self.options), 100)
        if self.kind == "number":
            return f"A number{f' ({self.unit})' if self.unit else ''}"
        return "" if self.required else "Optional"


@dataclass(frozen=True)
class QuestionDraft:
    """A question as typed: what ``/dar questions`` saves at a position."""

    label: str
    kind: str = "long"
    unit: str | None = None
    options: tuple[str, ...] = ()
    required: bool = True
    role: str = "none"


@dataclass(frozen=True)
class CheckIn:
    id: int
    guild_id: int
    name: str
    is_default: bool = False
    channel_id: int | None = None
    schedule: str = "daily"
    days: frozenset[int] | None = None  # None: the office's workdays
    at: time | None = None  # when members are asked; None: the office's dar_reminder
    on_date: date | None = None
    role_id: int | None = None  # None: the staff role
    paused: bool = False
    post_each: str = "off"
    post_summary: bool = True
    questions: tuple[Question, ...] = ()

    def runs_on(self, day: date, office_workdays: frozenset[int]) -> bool:
        """Whether members are asked on ``day`` (a paused check-in asks nobody)."""
        if self.paused:
            return False
        if self.schedule == "once":
            return day == self.on_date
        return day.weekday() in (self.days if self.days is not None else office_workdays)

    def describe_schedule(self, office_workdays: frozenset[int]) -> str:
        at = format_hhmm(self.at) if self.at else "the reminder time"
        if self.schedule == "once":
            when = self.on_date.isoformat() if self.on_date else "?"
            return f"once, {when} at {at}"
        days = describe_workdays(self.days if self.days is not None else office_workdays)
        return f"{self.schedule}, {days} at {at}"

    def describe_posting(self) -> str:
        parts = []
        if self.post_each == "channel":
            parts.append("each report in the channel")
        elif self.post_each == "thread":
            parts.append("each report in a thread per day")
        if self.post_summary:
            parts.append("a summary")
        return " and ".join(parts) or "nowhere (read them with /dar view)"

    def role_question(self, role: str) -> Question | None:
        return next((q for q in self.questions if q.role == role), None)


def check_name(name: str) -> str:
    cleaned = " ".join(without_control(name).split())
    if not cleaned:
        raise UserError("A check-in needs a name.")
    if len(cleaned) > NAME_MAX:
        raise UserError(f"A check-in's name is at most {NAME_MAX} characters.")
    return cleaned


def parse_days(text: str) -> frozenset[int]:
    try:
        return parse_workdays(text)
    except UserError:
        raise UserError(
            f"`days`: `{clip(text, 40)}` is not a list of weekdays; use e.g. `mon-fri`, `fri` "
            "or `mon,wed`."
        ) from None


def format_days(days: frozenset[int] | None) -> str | None:
    return None if days is None else ",".join(WEEKDAYS[d] for d in sorted(days))


def parse_question(text: str) -> QuestionDraft | None:
    """One line of ``/dar questions``: ``Label; kind; required|optional; role`` (all but the
    label optional, in any order). Kinds: ``short``, ``long``, ``number [unit]``,
    ``choice a/b/c``. Roles: ``done``, ``plan``, ``blockers``, ``hours``. Blank: no question."""
    cleaned = without_control(text).strip()
    if not cleaned:
        return None
    label, *rest = [part.strip() for part in cleaned.split(";")]
    if not label:
        raise UserError(f"`{clip(cleaned, 40)}`: a question starts with its label.")
    if len(label) > LABEL_MAX:
        raise UserError(
            f"`{clip(label, 40)}`: a question's label is at most {LABEL_MAX} characters."
        )
    kind, unit, options, required, role = "long", None, (), True, "none"
    for part in rest:
        if not part:
            continue
        word, _, tail = part.partition(" ")
        word, tail = word.lower(), tail.strip()
        if word in ("short", "long") and not tail:
            kind = word
        elif word == "number":
            kind = "number"
            unit = tail or None
            if unit is not None and len(unit) > UNIT_MAX:
                raise UserError(f"`{label}`: a unit is at most {UNIT_MAX} characters.")
        elif word == "choice":
            kind = "choice"
            options = tuple(o.strip() for o in re.split(r"[/,]", tail) if o.strip())
            if not 2 <= len(options) <= OPTIONS_MAX or any(len(o) > OPTION_MAX for o in options):
                raise UserError(
                    f"`{label}`: a choice lists 2 to {OPTIONS_MAX} options of at most "
                    f"{OPTION_MAX} characters, e.g. `choice 1/2/3/4/5`."
                )
        elif word in ("required", "optional") and not tail:
            required = word == "required"
        elif word in ROLES and word != "none" and not tail:
            role = word
        else:
            raise UserError(
                f"`{label}`: `{clip(part, 30)}` is not a kind (short, long, number [unit], "
                "choice a/b/c), required/optional or a role (done, plan, blockers, hours)."
            )
    if role == "hours" and kind != "number":
        kind, unit = "number", unit or "h"
    if role in ("done", "plan", "blockers") and kind not in ("short", "long"):
        raise UserError(f"`{label}`: the {role} question is text (short or long).")
    return QuestionDraft(label, kind, unit, options, required, role)


def parse_questions(lines: list[str]) -> list[QuestionDraft | None]:
    """The five lines of the form, position by position; one role per check-in, at least one
    question."""
    drafts = [parse_question(line) for line in lines[:MAX_QUESTIONS]]
    present = [d for d in drafts if d is not None]
    if not present:
        raise UserError("A check-in needs at least one question.")
    roles = [d.role for d in present if d.role != "none"]
    for role in set(roles):
        if roles.count(role) > 1:
            raise UserError(f"Only one question can be the {role} question.")
    return drafts


def check_answer(question: Question, text: str | None) -> str | None:
    """The answer as saved (None: left empty), or UserError naming the question."""
    cleaned = without_control(text or "").strip()
    if not cleaned:
        if question.required:
            raise UserError(f"**{question.label}** can't be empty.")
        return None
    limit = SHORT_MAX if question.kind == "short" else ANSWER_MAX
    if len(cleaned) > limit:
        raise UserError(f"**{question.label}** is {len(cleaned)} characters; the limit is {limit}.")
    if question.kind == "number":
        if question.role == "hours":
            minutes = parse_hours(cleaned)
            assert minutes is not None
            hours, rest = divmod(minutes, 60)
            return f"{hours}:{rest:02d}" if rest else str(hours)
        if not _NUMBER.match(cleaned):
            raise UserError(f"**{question.label}**: `{clip(cleaned, 30)}` is not a number.")
        return cleaned.replace(",", ".")
    if question.kind == "choice":
        for option in question.options:
            if option.lower() == cleaned.lower():
                return option
        raise UserError(f"**{question.label}**: answer one of {', '.join(question.options)}.")
    return cleaned


def check_skip_reason(text: str | None) -> str | None:
    cleaned = " ".join(without_control(text or "").split())
    if len(cleaned) > SKIP_REASON_MAX:
        raise UserError(f"A reason is at most {SKIP_REASON_MAX} characters.")
    return cleaned or None


# -- rates -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckinRate:
    """One member's answers to one check-in over a period: the days they were asked (not on
    leave, not a holiday), how many they answered, on time, or skipped."""

    user_id: int
    expected: int
    filed: int
    on_time: int
    skipped: int

    @property
    def rate(self) -> float | None:
        return self.filed / self.expected if self.expected else None


@dataclass(frozen=True)
class CheckinStats:
    name: str
    start: date
    end: date
    members: tuple[CheckinRate, ...]

    @property
    def expected(self) -> int:
        return sum(m.expected for m in self.members)

    @property
    def filed(self) -> int:
        return sum(m.filed for m in self.members)

    @property
    def on_time(self) -> int:
        return sum(m.on_time for m in self.members)

    def line(self) -> str:
        rate = f"{round(100 * self.filed / self.expected)} %" if self.expected else "n/a"
        return (
            f"**{self.name}**: {self.filed} / {self.expected} answered ({rate}), "
            f"{self.on_time} on time"
        )


def checkin_rates(
    expected_days: Mapping[int, Collection[date]],
    entries: Iterable[tuple[int, date, str, bool]],
) -> tuple[CheckinRate, ...]:
    """Per member (``expected_days``: the days each was asked), from the entries ``(user,
    day, status, late)``; an answer on a day not asked (a late filing on a day off) counts as
    answered and expected alike."""
    filed: dict[int, set[date]] = {}
    late: dict[int, set[date]] = {}
    skipped: dict[int, set[date]] = {}
    for user_id, day, status, was_late in entries:
        if status == "skipped":
            skipped.setdefault(user_id, set()).add(day)
            continue
        filed.setdefault(user_id, set()).add(day)
        if was_late:
            late.setdefault(user_id, set()).add(day)
    rates = []
    for user_id, days in expected_days.items():
        asked = set(days) - skipped.get(user_id, set())
        answered = filed.get(user_id, set())
        counted = asked | answered
        rates.append(
            CheckinRate(
                user_id=user_id,
                expected=len(counted),
                filed=len(answered & counted),
                on_time=len((answered - late.get(user_id, set())) & counted),
                skipped=len(skipped.get(user_id, set()) & set(days)),
            )
        )
    return tuple(rates)
