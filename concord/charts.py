"""Charts as PNG bytes, drawn with matplotlib's object API on an explicit Agg canvas (no pyplot,
no global figure state, no display needed), so rendering is safe on a worker thread: callers
run it with ``asyncio.to_thread`` to keep the event loop free."""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from concord.core.dar import DayPoint, by_week

WIDTH_INCHES = 10.0
HEIGHT_INCHES = 4.5
DPI = 100
FILED = "#5865F2"
EXPECTED = "#C9CDFB"
TASKS = "#ED4245"
# Longer spans are drawn per week: a bar a day stops being readable.
MAX_DAILY_POINTS = 92


def render_dar_chart(points: Sequence[DayPoint], title: str) -> bytes:
    """Per day (per week over long spans): reports expected (light bars), filed (dark bars) and
    tasks completed (line)."""
    weekly = len(points) > MAX_DAILY_POINTS
    if weekly:
        points = by_week(points)
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(points)))
    axes.bar(positions, [p.expected for p in points], color=EXPECTED, label="expected", width=0.8)
    axes.bar(positions, [p.filed for p in points], color=FILED, label="filed", width=0.5)
    axes.set_ylabel("reports")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(title)
    tasks_axes = axes.twinx()
    tasks_axes.plot(
        positions,
        [p.tasks_completed for p in points],
        color=TASKS,
        marker="o" if len(points) <= 45 else "",
        linewidth=1.5,
        label="tasks completed",
    )
    tasks_axes.set_ylabel("tasks completed")
    tasks_axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    tasks_axes.set_ylim(bottom=0)
    step = max(1, len(points) // 12)
    ticks = positions[::step]
    axes.set_xticks(ticks)
    axes.set_xticklabels([_tick(points[i], weekly) for i in ticks], fontsize=8)
    if weekly:
        axes.set_xlabel("week commencing")
    handles, labels = axes.get_legend_handles_labels()
    more_handles, more_labels = tasks_axes.get_legend_handles_labels()
    figure.legend(
        handles + more_handles,
        labels + more_labels,
        loc="lower center",
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _tick(point: DayPoint, weekly: bool) -> str:
    if weekly:
        return f"{point.day.day} {point.day:%b}\n{point.day:%Y}"
    return f"{point.day:%a}\n{point.day.day} {point.day:%b}"
