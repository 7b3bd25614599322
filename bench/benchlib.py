"""What the benchmarks share: the machine and its load, percentiles, memory, the table, the
MET/MISSED line of each target and the one JSON line each script prints last (``make bench``
output can be grepped for ``{"bench":``; bench/summary.py turns those lines into one table).

Not a benchmark itself (``make bench`` runs ``bench/bench_*.py`` only); the scripts import it
as ``benchlib`` because Python puts the script's folder first on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sqlite3
import statistics
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    """The figures mean little without these: cores, CPU, Python and SQLite."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(terse=True),
    }


def load() -> list[float]:
    """The 1, 5 and 15 minute load averages (the machine is shared: note them with each run)."""
    return [round(x, 2) for x in os.getloadavg()]


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` 0.99 = p99) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """Median, p95, p99 and max in milliseconds."""
    if not seconds:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    return {
        "p50_ms": round(1000 * statistics.median(seconds), 2),
        "p95_ms": round(1000 * percentile(seconds, 0.95), 2),
        "p99_ms": round(1000 * percentile(seconds, 0.99), 2),
        "max_ms": round(1000 * max(seconds), 2),
    }


def rss_mb() -> float:
    """This process's resident memory now (VmRSS), in MiB."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return peak_rss_mb()


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (ru_maxrss, KiB on Linux), in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table: text columns left-aligned, numbers right-aligned."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}"
        return str(value)

    text = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in text)]) for i, h in enumerate(headers)]
    numeric = [
        all(isinstance(row[i], int | float) and not isinstance(row[i], bool) for row in rows)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in text)])


def header(title: str) -> None:
    """The first lines of a report: what, where, and how busy the machine was."""
    info = machine()
    print(title)
    print(
        f"machine: {info['nproc']} cores, {info['cpu']}; Python {info['python']}, "
        f"SQLite {info['sqlite']}; load average {' '.join(str(x) for x in load())}"
    )
    print()


@dataclass
class Target:
    """One target: ``value`` must stay below ``limit`` (``below``) or reach it."""

    name: str
    value: float
    limit: float
    below: bool
    unit: str = ""

    @property
    def met(self) -> bool:
        return self.value < self.limit if self.below else self.value >= self.limit

    def line(self) -> str:
        op = "<" if self.below else ">="
        return (
            f"{'MET' if self.met else 'MISSED'}: {self.name}: {self.value:g}{self.unit} "
            f"(target {op} {self.limit:g}{self.unit})"
        )


@dataclass
class Targets:
    """The targets of one script, printed as MET/MISSED lines and carried in its JSON line."""

    items: list[Target] = field(default_factory=list)

    def below(self, name: str, value: float, limit: float, unit: str = "") -> bool:
        self.items.append(Target(name, round(value, 3), limit, True, unit))
        return self.items[-1].met

    def at_least(self, name: str, value: float, limit: float, unit: str = "") -> bool:
        self.items.append(Target(name, round(value, 3), limit, False, unit))
        return self.items[-1].met

    @property
    def met(self) -> bool:
        return all(t.met for t in self.items)

    def report(self) -> None:
        for target in self.items:
            print(target.line())
        print(f"load average now {' '.join(str(x) for x in load())}")

    def payload(self) -> list[dict[str, Any]]:
        return [{**asdict(t), "met": t.met} for t in self.items]


def emit(name: str, payload: dict[str, Any], targets: Targets | None = None) -> None:
    """The one JSON line: the bench name, the machine, the load now, then the figures (and the
    targets, each with its value and whether it was met)."""
    line = {"bench": name, "machine": machine(), "load": load(), **payload}
    if targets is not None:
        line["targets"] = targets.payload()
        line["met"] = targets.met
    print(json.dumps(line, separators=(",", ":")))
    sys.stdout.flush()


def ratio(value: float, baseline: float) -> float:
    return round(value / baseline, 3) if baseline else 0.0
