"""Leave: leave types and policies, allowances, requests, the balance ledger, approvals, holidays
and the queries other modules join (absences, pending requests).

- ``records``: the results (frozen dataclasses), row mapping and the member reads;
- ``transactions``: the synchronous transaction functions run by ``db.write`` (the checks and the
  write see the same state: twenty concurrent requests against five free days approve exactly
  five); every state change is a conditional update checked by ``rowcount``, every decision is
  audited, permissions are checked at the moment of the write, not only in the cog;
- ``manager``: ``LeaveManager``, the async face the cogs use.

Balances are summed on read: entitlement and carry-over follow from the policy; the ledger holds
debits written in the approving transaction, the exact credits written when approved leave is
cancelled, and manual adjustments.
"""

from concord.db.leave.manager import LeaveManager
from concord.db.leave.records import (
    ApplyResult,
    BalanceChange,
    BalanceView,
    Decision,
    HolidayImport,
    MemberLeave,
    RequestYear,
    Shift,
)
from concord.db.leave.teams import TeamEdit
from concord.db.leave.transactions import HeldChange, PolicyChange

__all__ = [
    "ApplyResult",
    "BalanceChange",
    "BalanceView",
    "Decision",
    "HeldChange",
    "HolidayImport",
    "LeaveManager",
    "MemberLeave",
    "PolicyChange",
    "RequestYear",
    "Shift",
    "TeamEdit",
]
