"""quick_init: the same objects as the dataclass's own __init__, made faster."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction

import pytest

from concord.core.leave import Balance, LeaveRequest, Portion, RequestStatus, Span
from concord.core.quick_init import quick_init


@dataclass(frozen=True)
class Plain:
    a: int
    b: str = "b"
    c: list[int] = field(default_factory=list)


@quick_init
@dataclass(frozen=True)
class Quick:
    a: int
    b: str = "b"
    c: list[int] = field(default_factory=list)


def test_same_values_positional_keyword_and_defaults() -> None:
    for args, kwargs in [((1,), {}), ((1, "x"), {}), ((1, "x", [2]), {}), ((), {"a": 3, "c": [4]})]:
        plain, quick = Plain(*args, **kwargs), Quick(*args, **kwargs)
        assert dataclasses.astuple(plain) == dataclasses.astuple(quick)
        assert repr(plain).replace("Plain", "Quick") == repr(quick)


def test_each_instance_gets_its_own_factory_default() -> None:
    one, two = Quick(1), Quick(2)
    assert one.c == [] and one.c is not two.c


def test_still_frozen_hashable_and_replaceable() -> None:
    quick = Quick(1, "x", [])
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.a = 2  # type: ignore[misc]
    assert dataclasses.replace(quick, a=5).a == 5
    assert Quick(1, "x", []) == quick
    assert hash(Span(date(2027, 1, 4), date(2027, 1, 4), Portion.FULL_DAY)) == hash(
        Span(date(2027, 1, 4), date(2027, 1, 4), Portion.FULL_DAY)
    )


def test_bad_arguments_fail_as_before() -> None:
    with pytest.raises(TypeError):
        Quick()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Quick(1, d=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Quick(1, "x", [], 4)  # type: ignore[call-arg]


def test_refuses_classes_it_does_not_support() -> None:
    class NotADataclass:
        pass

    with pytest.raises(TypeError):
        quick_init(NotADataclass)

    @dataclass(frozen=True)
    class WithPostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    with pytest.raises(TypeError):
        quick_init(WithPostInit)

    @dataclass(frozen=True, kw_only=True)
    class KeywordOnly:
        a: int

    with pytest.raises(TypeError):
        quick_init(KeywordOnly)


def test_leave_objects_compare_as_before() -> None:
    span = Span(date(2027, 1, 4), date(2027, 1, 5), Portion.FULL_DAY)
    request = LeaveRequest(
        1,
        2,
        3,
        4,
        "Annual",
        span,
        Fraction(2),
        True,
        None,
        RequestStatus.PENDING,
        3,
        created_at=datetime(2026, 12, 1),
    )
    assert request.decided_by is None and request.override_note is None
    assert request.start == date(2027, 1, 4)
    assert (
        dataclasses.replace(request, status=RequestStatus.APPROVED).status is RequestStatus.APPROVED
    )
    zero = Fraction(0)
    balance = Balance("Annual", 2027, True, False, Fraction(14), zero, zero, zero, zero, zero)
    assert balance == Balance(
        leave_type="Annual",
        year=2027,
        tracked=True,
        allow_negative=False,
        entitlement=Fraction(14),
        carried=zero,
        adjustments=zero,
        taken=zero,
        pending=zero,
        recorded=zero,
    )
