"""Tasks: tasks, their history and comments, recurring occurrences, cards and boards.

- ``records``: the results (frozen dataclasses) and row mapping;
- ``transactions``: the synchronous transaction functions run by ``db.write``; each re-reads
  the task, checks the permission and the transition against what is stored *now*, makes a
  conditional update on the status it read, and appends a history event and an audit row;
- ``manager``: ``TaskManager``, the async face the cogs, DAR and Leave use.
"""

from concord.db.tasks.manager import TaskManager
from concord.db.tasks.records import Board, HolidayLookup, SavedBoard, StatusChange

__all__ = ["Board", "HolidayLookup", "SavedBoard", "StatusChange", "TaskManager"]
