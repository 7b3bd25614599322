"""DAR: daily activity reports in the database, joined with leave and tasks.

Reports are one per member per local date; an edit keeps the previous text in
``dar_report_versions``. Everything that needs who is away reads the Leave module through
:class:`LeaveSource`, and everything about work done or due reads the Tasks module through
:class:`TaskSource` (the real ``LeaveManager`` and ``TaskManager`` satisfy both).

- ``records``: the protocols, results, row mapping and day arithmetic;
- ``transactions``: the synchronous transaction functions run by ``db.write``;
- ``reads``: the long reads run on a worker thread (stats tally, exports);
- ``manager``: ``DarManager``, the async face the cogs use.
"""

from concord.db.dar.manager import REMINDER_JOB, STATS_DEFAULT_DAYS, DarManager
from concord.db.dar.records import (
    LeaveSource,
    Missing,
    Period,
    Prefill,
    Stats,
    SubmitResult,
    TaskSource,
)

__all__ = [
    "REMINDER_JOB",
    "STATS_DEFAULT_DAYS",
    "DarManager",
    "LeaveSource",
    "Missing",
    "Period",
    "Prefill",
    "Stats",
    "SubmitResult",
    "TaskSource",
]
