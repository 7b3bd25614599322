"""The stats chart is a real PNG of a sensible size, daily or weekly."""

from __future__ import annotations

import struct
from datetime import date, timedelta

from concord.charts import render_dar_chart
from concord.core.dar import DayPoint

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def points(days: int) -> list[DayPoint]:
    start = date(2026, 1, 5)
    return [
        DayPoint(start + timedelta(days=k), 10 if k % 7 < 5 else 0, 8 if k % 7 < 5 else 0, k % 4)
        for k in range(days)
    ]


def test_a_month_renders_as_a_png_of_a_sensible_size() -> None:
    data = render_dar_chart(points(30), "Daily reports — Concord Office")
    assert png_size(data) == (1000, 450)
    assert 10_000 < len(data) < 500_000
    assert data.endswith(b"IEND\xaeB`\x82")


def test_a_year_and_a_single_day_render_too() -> None:
    assert png_size(render_dar_chart(points(366), "A year")) == (1000, 450)
    assert png_size(render_dar_chart(points(1), "A day")) == (1000, 450)
