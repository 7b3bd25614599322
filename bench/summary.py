"""One table of every target across the benchmarks, from the JSON lines they print.

    .venv/bin/python bench/summary.py FILE...   (``make bench`` runs it on what it printed)

Not a benchmark itself (no ``bench_`` prefix): it reads ``{"bench": ...}`` lines and prints one
row per target (value, target, MET/MISSED) with the load average when that script finished.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import benchlib


def lines(paths: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in paths:
        for text in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
            if text.startswith('{"bench":'):
                found.append(json.loads(text))
    return found


def main(argv: list[str]) -> int:
    rows: list[list[Any]] = []
    missed = 0
    for line in lines(argv):
        load = " ".join(str(x) for x in line.get("load", []))
        targets = line.get("targets")
        if not targets:
            rows.append([line["bench"], "(no targets)", "-", "-", "-", load])
            continue
        for target in targets:
            op = "<" if target["below"] else ">="
            unit = target.get("unit", "")
            rows.append(
                [
                    line["bench"],
                    target["name"],
                    f"{target['value']:g}{unit}",
                    f"{op} {target['limit']:g}{unit}",
                    "MET" if target["met"] else "MISSED",
                    load,
                ]
            )
            missed += not target["met"]
    print(benchlib.table(["bench", "target", "value", "target", "result", "load"], rows))
    print(f"{len(rows) - missed} of {len(rows)} met; {missed} missed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
