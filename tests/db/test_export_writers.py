"""The exports' fast paths against the plain ones: XLSX's own writer (XlsxSink) against
openpyxl's (XlsxOpenpyxlSink), a spreadsheet program reading either file sees the same cells;
CSV's rows made whole by SQLite (csv_rows_query) against CsvSink.write of rows."""

from __future__ import annotations

import codecs
import csv
import io
import sqlite3
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from concord.db.dar_export import (
    COLUMNS,
    CsvSink,
    ExportRow,
    LocalTime,
    csv_field,
    csv_rows_query,
    offset_spans,
    open_sink,
)

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


def _reports_db(values: list[tuple[object, ...]]) -> sqlite3.Connection:
    """A read-only connection over a dar_reports table holding ``values`` (as exports read)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute(
        "CREATE TABLE dar_reports (guild_id, user_id, day, done, plan, blockers, minutes,"
        " submitted_at, late)"
    )
    conn.executemany("INSERT INTO dar_reports VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)", values)
    conn.execute("PRAGMA query_only=ON")
    return conn


def _sql_rows(
    conn: sqlite3.Connection,
    names: dict[int, str],
    on_leave: dict[tuple[str, int], str],
    zone: ZoneInfo,
    first: date = date(2026, 1, 1),
    last: date = date(2026, 12, 31),
) -> list[tuple[object, ...]]:
    where = "r.guild_id = ? AND r.day BETWEEN ? AND ?"
    params = (1, "2020-01-01", "2030-12-31")
    return csv_rows_query(conn, where, params, names, on_leave, zone, first, last).fetchall()


@pytest.mark.parametrize("zone", ["Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"])
def test_csv_rows_match_the_rows_csv_sink_writes(zone: str) -> None:
    tz = ZoneInfo(zone)
    values: list[tuple[object, ...]] = [
        (7, "2026-03-29", "=SUM(A1)", "- a list item", None, 450, STORED[0], 1),
        (8, "2026-03-29", "@x", "+y", "-z", None, STORED[1], 0),
        (9, "2026-10-25", "ok", "ok", "blocked", 61, STORED[2], 0),
        (9, "2026-10-26", "\tx", "\rx", "- a list", 479, STORED[3], 1),
        (10, "2026-10-26", "", "x,y", "", 1, STORED[3], 0),
        (10, "2026-04-04", "Zoë", "ok", "", 0, STORED[4], 0),
        (11, "2026-04-04", "A", "B", "", 120, STORED[5], 0),
        (11, "2026-07-01", "a", "b", "", -90, STORED[6], 0),
        (12, "2026-07-01", "a", "b", "", 59999940, STORED[7], 0),
        (12, "2026-07-02", "a", "b", "", 60000000, "2019-05-01T10:00:00+00:00", 0),
        (13, "2026-07-02", "a", "b", "", 30, "2026-07-02T23:30:00+00:00", 0),
        # What the csv writer quotes: a quote (doubled), a comma, a CR, an LF; and what it
        # does not (NUL, tab, non-ASCII, a line separator, spaces).
        (14, "2026-07-03", 'say "hi"', "a,b", '"', 90, STORED[1], 0),
        (15, "2026-07-03", "a\rb", "a\r\nb", '=x,"y"', 60, STORED[4], 1),
        (16, "2026-07-03", "nul\x00here", "tab\tthere", "Zoë 🎉\u2028 x", 15, STORED[5], 0),
        (17, "2026-07-03", " lead", "trail ", "-a,b", 45, STORED[0], 0),
        (18, "2026-07-03", "x", "y", "", None, "2026-07-03T08:00:00,5+00:00", 0),
    ]
    values.sort(key=lambda row: (str(row[1]), int(str(row[0]))))  # as the export orders them
    names = {
        7: "=bob",
        8: "carol",
        9: "",
        12: "Dee",
        14: 'Ann "Nan" Lee',
        15: "Smith, J",
        16: "Zoë",
    }
    on_leave = {
        (date(2026, 3, 29), 8): "PM off",
        (date(2026, 7, 2), 13): "full day",
        (date(2026, 7, 3), 14): "AM off, 09:00",
        (date(2026, 7, 3), 15): 'the "duty" day',
    }

    expected = io.BytesIO()
    sink = CsvSink(expected)
    sink.write(
        [
            ExportRow(
                date.fromisoformat(str(day)),
                names.get(int(str(uid))) or str(uid),
                str(done),
                str(plan),
                str(blockers or ""),
                None if minutes is None else int(str(minutes)),
                datetime.fromisoformat(str(at)).astimezone(tz),
                bool(late),
                on_leave.get((date.fromisoformat(str(day)), int(str(uid))), ""),
            )
            for uid, day, done, plan, blockers, minutes, at, late in values
        ]
    )
    sink.close()

    got = io.BytesIO()
    sink = CsvSink(got)
    by_text = {(day.isoformat(), uid): text for (day, uid), text in on_leave.items()}
    sink.write_fields(_sql_rows(_reports_db(values), names, by_text, tz))
    sink.close()
    assert got.getvalue() == expected.getvalue()
    assert b"'=bob" in got.getvalue() and b"PM off" in got.getvalue()


@pytest.mark.parametrize("zone", ["Europe/London", "Australia/Lord_Howe", "America/St_Johns"])
def test_csv_local_time_over_a_year_matches_astimezone(zone: str) -> None:
    """Every 37 minutes and 13 seconds of 2026 (both changes of each zone, to the second
    around them), as SQLite turns them into local time, against datetime.astimezone."""
    tz = ZoneInfo(zone)
    moments: list[datetime] = []
    moment = datetime(2025, 12, 30, tzinfo=UTC)
    while moment < datetime(2027, 1, 3, tzinfo=UTC):
        moments.append(moment)
        moment += timedelta(minutes=37, seconds=13)
    for first, _ in offset_spans(tz, moments[0], moments[-1])[1:]:
        moments += [first + timedelta(seconds=s) for s in (-2, -1, 0, 1)]
    values: list[tuple[object, ...]] = [
        (1, "2026-06-01", "x", "y", "", 60, m.isoformat(timespec="seconds"), 0) for m in moments
    ]
    rows = _sql_rows(_reports_db(values), {}, {}, tz)
    got = sorted(str(row[6]) for row in rows)
    expected = sorted(m.astimezone(tz).isoformat(timespec="seconds") for m in moments)
    assert got == expected


def test_offset_spans_find_each_change_to_the_second() -> None:
    tz = ZoneInfo("Europe/London")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    spans = offset_spans(tz, start, datetime(2027, 1, 1, tzinfo=UTC))
    assert spans == [
        (start, timedelta(0)),
        (datetime(2026, 3, 29, 1, tzinfo=UTC), timedelta(hours=1)),
        (datetime(2026, 10, 25, 1, tzinfo=UTC), timedelta(0)),
    ]


FIELDS = [
    "",
    "plain",
    'a "quote"',
    '"',
    "a,b",
    "a\nb",
    "a\rb",
    "\r\n",
    " x ",
    "nul\x00",
    "tab\t",
    "é🎉",
]


def test_csv_field_quotes_as_the_csv_writer_does() -> None:
    for text in FIELDS:
        written = io.StringIO()
        csv.writer(written).writerow([text, "end"])
        assert written.getvalue() == csv_field(text) + ",end\r\n", text


def test_write_fields_writes_values_that_are_not_text_as_the_csv_writer_does() -> None:
    """A NULL or a number in a text column (not what the bot stores, but SQLite allows it):
    written as the csv writer writes it, the fields that are text as they are."""
    values: list[object] = [None, 7, 1.5, 10**20, "x,y", b"a,b"]
    text = io.StringIO()
    csv.writer(text).writerows([COLUMNS, values, ["plain", None]])
    expected = codecs.BOM_UTF8 + text.getvalue().encode()
    got = io.BytesIO()
    sink = CsvSink(got)
    sink.write_fields([[v if not isinstance(v, str) else csv_field(v) for v in values]])
    sink.write_fields([("plain", None)])
    sink.write_fields([])
    sink.close()
    assert got.getvalue() == expected
