"""The exports' fast paths against the plain ones: XLSX's own writer (XlsxSink) against
openpyxl's (XlsxOpenpyxlSink), a spreadsheet program reading either file sees the same cells;
CSV's fields made straight from SQLite's values (csv_fields) against CsvSink.write of rows."""

from __future__ import annotations

import io
import sqlite3
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from concord.db.dar_export import CSV_COLUMNS, CsvSink, ExportRow, LocalTime, csv_fields, open_sink

TRICKY = [
    ExportRow(
        date(2026, 3, 29),
        "Zoë <admin> & co",
        "=1+1 stays text",
        "  leading and trailing spaces  ",
        "line one\nline two",
        450,
        datetime(2026, 3, 29, 0, 59, 58, tzinfo=UTC),
        True,
        "Annual leave",
    ),
    ExportRow(
        date(2026, 12, 31),
        "bob",
        "control \x01chars\x1f gone, tab\tand emoji 🎉 kept",
        "@mention +plus -minus",
        "",
        None,
        datetime(2026, 12, 31, 23, 30, tzinfo=UTC),
        False,
        "",
    ),
    ExportRow(
        date(2026, 1, 1),
        "carol",
        "x" * 40_000,  # past what a cell holds: cut to 32,767
        "plain",
        "a blocker",
        61,
        datetime(2026, 1, 1, 9, 0, 1, tzinfo=UTC) + timedelta(hours=5),
        False,
        "PM off",
    ),
]


def cells(fmt: str) -> tuple[list[tuple[object, ...]], object, object]:
    out = io.BytesIO()
    sink = open_sink(fmt, out)
    sink.write(TRICKY)
    sink.close()
    out.seek(0)
    sheet = load_workbook(out).active
    assert sheet is not None
    return list(sheet.iter_rows(values_only=True)), sheet.freeze_panes, sheet.auto_filter.ref


def test_the_own_writer_reads_back_as_openpyxls_does() -> None:
    ours, frozen, filtered = cells("xlsx")
    reference, reference_frozen, reference_filtered = cells("xlsx-openpyxl")
    assert frozen == reference_frozen == "A2"
    assert filtered == reference_filtered == "A1:I4"
    assert len(ours) == len(reference) == 4
    for mine, theirs in zip(ours, reference, strict=True):
        # openpyxl writes an empty text cell where ours has none: both read as nothing.
        assert [v if v != "" else None for v in mine] == [v if v != "" else None for v in theirs]
    header, first, second, third = ours
    assert header[0] == "date" and header[8] == "on leave"
    assert first[0] == datetime(2026, 3, 29) and first[6] == datetime(2026, 3, 29, 0, 59, 58)
    assert first[1] == "Zoë <admin> & co" and first[2] == "=1+1 stays text"
    assert first[3] == "  leading and trailing spaces  " and first[4] == "line one\nline two"
    assert first[5] == 7.5 and first[7] is True
    assert second[2] == "control chars gone, tab\tand emoji 🎉 kept" and second[5] is None
    assert len(str(third[2])) == 32_767 and third[5] == 1.02


STORED = [
    "2026-03-29T00:59:58+00:00",  # London: the last second of GMT that night
    "2026-03-29T01:00:00+00:00",  # London: the first of BST
    "2026-10-25T00:30:00.250000+00:00",
    "2026-10-25T01:30:00+00:00",
    "2026-04-04T15:29:59+00:00",  # Lord Howe: its half-hour change at 15:00 UTC
    "2026-04-04T15:45:00+00:00",
    "2026-07-01T12:00:00",  # naive (as old rows may be): read as local time by astimezone
    "2026-07-01T12:00:00+02:00",
]


@pytest.mark.parametrize("zone", ["Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"])
def test_local_time_matches_astimezone(zone: str) -> None:
    tz = ZoneInfo(zone)
    local = LocalTime(tz)
    for _ in range(2):  # the second time from the cache
        for stored in STORED:
            expected = datetime.fromisoformat(stored).astimezone(tz).isoformat(timespec="seconds")
            assert local(stored) == expected, stored


def test_csv_fields_match_the_rows_csv_sink_writes() -> None:
    zone = ZoneInfo("Europe/London")
    values = [
        (7, "2026-03-29", "=SUM(A1)", "- a list item", None, 450, STORED[0], 1),
        (8, "2026-03-29", "@x", "+y", "-z", None, STORED[1], 0),
        (9, "2026-10-25", "ok", "ok", "blocked", 61, STORED[2], 0),
        (9, "2026-10-26", "\tx", "\rx", "- a list", 479, STORED[3], 1),
        (10, "2026-10-26", "", "x,y", "", 1, STORED[3], 0),
    ]
    names = {7: "=bob", 8: "carol"}
    on_leave = {(date(2026, 3, 29), 8): "PM off"}

    def plain(out: io.BytesIO) -> None:
        sink = CsvSink(out)
        sink.write(
            [
                ExportRow(
                    date.fromisoformat(day),
                    names.get(uid) or str(uid),
                    done,
                    plan,
                    blockers or "",
                    minutes,
                    datetime.fromisoformat(at).astimezone(zone),
                    bool(late),
                    on_leave.get((date.fromisoformat(day), uid), ""),
                )
                for uid, day, done, plan, blockers, minutes, at, late in values
            ]
        )
        sink.close()

    def fast(out: io.BytesIO) -> None:
        # Through SQLite, as the export reads them: CSV_COLUMNS make most of the text.
        conn = sqlite3.connect(":memory:")
        conn.execute(
            "CREATE TABLE dar_reports (user_id, day, done, plan, blockers, minutes,"
            " submitted_at, late)"
        )
        conn.executemany("INSERT INTO dar_reports VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values)
        rows = conn.execute(f"SELECT {CSV_COLUMNS} FROM dar_reports ORDER BY rowid").fetchall()
        conn.close()
        sink = CsvSink(out)
        by_text = {(day.isoformat(), uid): text for (day, uid), text in on_leave.items()}
        sink.write_fields(csv_fields(rows, names, by_text, LocalTime(zone)))
        sink.close()

    expected, got = io.BytesIO(), io.BytesIO()
    plain(expected)
    fast(got)
    assert got.getvalue() == expected.getvalue()
    assert b"'=bob" in got.getvalue() and b"PM off" in got.getvalue()
