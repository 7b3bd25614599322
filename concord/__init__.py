"""Concord Desk: tasks, leave and daily activity reports inside Discord."""

__version__ = "0.1.0"
