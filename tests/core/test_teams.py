"""Leave teams' pure rules (concord/core/teams.py): who decides a member's leave, the first day
over a team's limit, and the blackouts a request touches."""

from __future__ import annotations

from datetime import date

from concord.core.teams import (
    Blackout,
    Routing,
    Team,
    blackout_sentence,
    blackouts_touching,
    first_over_limit,
)

BOB, CAROL, DAVE, LEAD_ROLE = 2, 3, 4, 90
SUPPORT = Team(1, 7, "Support", max_out=2, members=(BOB, DAVE), approvers=(CAROL,))


def test_team_approvers_and_managers_decide_and_the_backup_role_only_without_team() -> None:
    route = Routing(BOB, (SUPPORT,))
    assert route.routed
    assert route.may_decide(CAROL, is_manager=False, decides_leave=False, role_ids=())
    assert route.may_decide(99, is_manager=True, decides_leave=True, role_ids=())
    assert not route.may_decide(DAVE, is_manager=False, decides_leave=True, role_ids=())
    assert not route.may_decide(BOB, is_manager=False, decides_leave=False, role_ids=())
    by_role = Routing(BOB, (Team(1, 7, "Support", approver_role_id=LEAD_ROLE),))
    assert by_role.may_decide(DAVE, is_manager=False, decides_leave=False, role_ids=[LEAD_ROLE])
    assert not by_role.team_approves(BOB, [LEAD_ROLE])  # never one's own
    nobody = Routing(DAVE, ())
    assert not nobody.routed
    assert nobody.may_decide(CAROL, is_manager=False, decides_leave=True, role_ids=())
    only_self = Routing(CAROL, (SUPPORT,))  # Carol is Support's only approver
    assert not only_self.routed
    assert "Only managers" in only_self.refusal(5)
    assert "approvers of Support" in route.refusal(5)


def test_the_first_day_over_the_limit() -> None:
    days = [date(2026, 12, 14), date(2026, 12, 15)]
    assert first_over_limit(SUPPORT, days, {date(2026, 12, 14): 1}) is None
    over = first_over_limit(SUPPORT, days, {date(2026, 12, 15): 2, date(2026, 12, 14): 1})
    assert over is not None
    assert over.sentence() == "3 of Support would be out on Tue 15 Dec — the limit is 2"
    assert first_over_limit(Team(1, 7, "Open"), days, {days[0]: 50}) is None


def test_blackouts_touch_working_days_only() -> None:
    launch = Blackout(1, 7, 1, "Support", date(2026, 12, 12), date(2026, 12, 13), "launch")
    assert blackouts_touching([launch], [date(2026, 12, 11), date(2026, 12, 14)]) == []
    assert blackouts_touching([launch], [date(2026, 12, 12)]) == [launch]
    assert blackout_sentence(launch) == (
        "Leave is blocked on Sat 12 Dec – Sun 13 Dec for Support: launch"
    )
