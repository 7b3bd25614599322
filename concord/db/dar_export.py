"""Report exports as files: CSV (UTF-8 with a BOM so Excel reads it right) and XLSX (written
here, the sheet's XML streamed into the zip row by row, so a year never sits in memory).

Sinks are synchronous and run on a worker thread (``asyncio.to_thread``); DarManager feeds them
rows in chunks straight from a read cursor. For CSV, SQLite makes every field of each row
itself, quoted as the csv writer quotes it (:func:`csv_rows_query`). Text cells that a
spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` …) are neutralised: in CSV with
a leading apostrophe (the OWASP advice), in XLSX by storing them as inline strings, which are
never formulas.
openpyxl's write-only mode (XlsxOpenpyxlSink) is kept as the reference the tests read the
XLSX writer against and the benchmark times it against.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sqlite3
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import IO, TYPE_CHECKING, NamedTuple, Protocol, cast

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

COLUMNS: tuple[str, ...] = (
    "date",
    "member",
    "done",
    "plan",
    "blockers",
    "hours",
    "submitted at",
    "late",
    "on leave",
)
_FORMULA_START: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 (and so XLSX) cannot hold.
_ILLEGAL_XML: re.Pattern[str] = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_XLSX_WIDTHS: tuple[int, ...] = (12, 20, 60, 60, 40, 8, 20, 6, 16)


class ExportRow(NamedTuple):
    """One report as a file row. A named tuple rather than a frozen dataclass: a year's export
    makes 120k of them, and a frozen dataclass is several times slower to build."""

    day: date
    member: str
    done: str
    plan: str
    blockers: str
    minutes: int | None
    submitted_at: datetime  # in the guild's timezone
    late: bool
    on_leave: str

    @property
    def hours(self) -> float | None:
        return None if self.minutes is None else round(self.minutes / 60, 2)


class _CsvWriter(Protocol):
    def writerow(self, row: Iterable[object]) -> object: ...

    def writerows(self, rows: Iterable[Iterable[object]]) -> None: ...


class Sink(Protocol):
    def write(self, rows: Sequence[ExportRow]) -> None: ...

    def close(self) -> None: ...


def _hours_text(hours: float | None) -> str:
    return "" if hours is None else f"{hours:g}"


def csv_safe(text: str) -> str:
    """A leading apostrophe on text a spreadsheet would run as a formula; a dash and a space
    (a list item, as reports are often written) is not one and stays as typed."""
    if text.startswith(_FORMULA_START) and not text.startswith("- "):
        return "'" + text
    return text


def csv_field(text: str) -> str:
    """``text`` as the csv writer writes a field (the excel dialect, QUOTE_MINIMAL): in double
    quotes, its own doubled, when it holds a quote, a comma, a CR or an LF."""
    if '"' in text:
        return '"' + text.replace('"', '""') + '"'
    if "," in text or "\n" in text or "\r" in text:
        return '"' + text + '"'
    return text


def _csv_value(value: object) -> str:
    """A value that is not text as the csv writer writes it: None as nothing, else its str()."""
    return "" if value is None else csv_field(str(value))


class CsvSink:
    def __init__(self, out: IO[bytes]) -> None:
        # The BOM by hand, then plain UTF-8: the csv writer writes row by row, and the
        # utf-8-sig codec encodes each write in Python where UTF-8 stays in C; with the
        # wrapper's write-through on as well that was a third of a year's export
        # (bench/bench_dar.py). Text still reaches ``out`` in 8 KiB pieces as it goes.
        out.write(codecs.BOM_UTF8)
        self._text: io.TextIOWrapper[IO[bytes]] = io.TextIOWrapper(
            out, encoding="utf-8", newline=""
        )
        self._writer: _CsvWriter = csv.writer(self._text)
        self._writer.writerow(COLUMNS)

    def write(self, rows: Sequence[ExportRow]) -> None:
        self._writer.writerows(
            [
                row.day.isoformat(),
                csv_safe(row.member),
                csv_safe(row.done),
                csv_safe(row.plan),
                csv_safe(row.blockers),
                _hours_text(row.hours),
                row.submitted_at.isoformat(timespec="seconds"),
                "yes" if row.late else "no",
                row.on_leave,
            ]
            for row in rows
        )

    def write_fields(self, rows: Sequence[Sequence[object]]) -> None:
        """Rows whose fields are already the file's text, quoted as the csv writer quotes
        (:func:`csv_field`; see :func:`csv_rows_query`): joined in C with no Python per row,
        where the csv writer looks at every character again (most of a year's export).
        A field that is not text (NULL, or a number stored in a text column) is written as
        the csv writer writes it."""
        if not rows:
            return
        try:
            # Text in every field is the common case; a field that is not raises TypeError.
            text = "\r\n".join(map(",".join, cast("Sequence[Sequence[str]]", rows)))
        except TypeError:
            text = "\r\n".join(
                ",".join(f if isinstance(f, str) else _csv_value(f) for f in row) for row in rows
            )
        self._text.write(text + "\r\n")

    def close(self) -> None:
        self._text.flush()
        self._text.detach()  # leave ``out`` open for the caller


class LocalTime:
    """Stored UTC ISO timestamps as the zone's wall-clock ISO text to the second. The zone's
    offset is looked up once per hour of UTC time (when it is the same at both ends of the
    hour; in an hour with a change, for each timestamp): a year's export converts 120k. With
    an offset of whole hours (most zones), only the hour's digits change: the text is spliced
    from the hour's local text and the stored minutes and seconds, with no datetime."""

    def __init__(self, zone: tzinfo) -> None:
        self._zone = zone
        # UTC hour -> (its local "YYYY-MM-DDTHH", or "" for an offset of part of an hour;
        # the offset; its text "+01:00"), or None in an hour when the offset changes.
        self._hours: dict[str, tuple[str, timedelta, str] | None] = {}

    def __call__(self, stored: str) -> str:
        key = stored[:13]
        if stored[19:20] in ("+", "Z", ".") and stored.endswith(("+00:00", "Z")):
            if key not in self._hours:
                self._hours[key] = self._offset_of_hour(key)
            known = self._hours[key]
            if known is not None:
                hour, offset, suffix = known
                if hour:
                    return hour + stored[13:19] + suffix
                return (datetime.fromisoformat(stored[:19]) + offset).isoformat() + suffix
        moment = datetime.fromisoformat(stored).astimezone(self._zone)
        return moment.replace(microsecond=0).isoformat()

    def _offset_of_hour(self, key: str) -> tuple[str, timedelta, str] | None:
        start = datetime.fromisoformat(key + ":00:00+00:00")
        first = start.astimezone(self._zone).utcoffset()
        last = (start + timedelta(seconds=3599)).astimezone(self._zone).utcoffset()
        if first is None or first != last:
            return None
        local = (start + first).replace(tzinfo=timezone(first)).isoformat()
        whole_hours = first % timedelta(hours=1) == timedelta(0)
        return (local[:13] if whole_hours else ""), first, local[19:]  # "+01:00"


# The report query's columns as values (XLSX, through ExportRow); CSV's are csv_rows_query's.
VALUE_COLUMNS = "user_id, day, done, plan, blockers, minutes, submitted_at, late"
_QUOTE = "''''"  # SQL for a text of one apostrophe


def _sql_csv_safe(column: str) -> str:
    # Every character csv_safe looks for sorts before "A", so most text is settled by one
    # comparison; unicode() then names the first character without making a string of it
    # (the substr() test on every row was a third of the export's SQL, bench/bench_dar.py).
    return (
        f"CASE WHEN {column} < 'A' AND unicode({column}) IN (61, 43, 45, 64, 9, 13)"
        f" AND substr({column}, 1, 2) <> '- ' THEN {_QUOTE} || {column} ELSE {column} END"
    )


def _sql_csv_field(text: str) -> str:
    """SQL for ``text`` as :func:`csv_field` writes it. SQLite-only SQL (``instr``; the CSV rows
    are made by SQLite on SQLite only, from values on PostgreSQL): a quote is looked for
    first (then the text is quoted with its quotes doubled), then a line feed (most reports
    have more than one line), a comma and a carriage return."""
    return (
        f"CASE WHEN instr({text}, '\"') THEN '\"' || replace({text}, '\"', '\"\"') || '\"'"
        f" WHEN instr({text}, char(10)) OR instr({text}, ',') OR instr({text}, char(13))"
        f" THEN '\"' || {text} || '\"' ELSE {text} END"
    )


# -- CSV rows made whole by SQLite -----------------------------------------------------------
# The export's CSV rows straight from one query, every field the file's text (a year is 120k
# rows; a Python tuple and three lookups per row were most of what the export cost beyond a
# plain sqlite3 + csv dump, bench/bench_dar.py): the member's name and the day's leave joined
# from two temporary tables, the formula guard, hours (f"{hours:g}") and late (yes/no) as
# CsvSink.write makes them, and the local time made by SQLite from the zone's offset in each
# span between its changes (the stored UTC text moved by the span's offset, to the second, and
# the offset's suffix). A timestamp stored in any other form, or outside the spans worked out
# for the export's days, goes through LocalTime as before (a Python function SQLite calls for
# that row only). Each field comes out quoted as the csv writer quotes it (csv_field: SQL for
# the stored text, Python once per member for the names and once per label for the leave), so
# CsvSink.write_fields joins a chunk's rows in C: the csv writer's pass over every character
# of every row cost more than the whole query (bench/bench_dar.py; docs/PERFORMANCE.md).
_LOCAL_TIME_FUNCTION = "concord_local_time"
# "YYYY-MM-DDTHH:MM:SS+00:00", as utcnow_iso stores it (with the range check below).
_STORED_UTC = "substr(r.submitted_at, 20) = '+00:00'"
# A zone's offset is looked up at this step and bisected to the second where it changed; no
# zone changes twice within it.
_OFFSET_STEP = timedelta(hours=6)


# Hours as f"{hours:g}" writes them; whole hours (half of all reports) as the integer, without
# printf (which writes 1e+06 from a million hours on, hence the bound).
_SQL_HOURS = (
    "CASE WHEN r.minutes IS NULL THEN ''"
    " WHEN r.minutes % 60 = 0 AND abs(r.minutes) < 60000000 THEN CAST(r.minutes / 60 AS TEXT)"
    " ELSE printf('%g', round(r.minutes / 60.0, 2)) END"
)


def _suffix(offset: timedelta) -> str:
    """The ISO text of an offset, as ``datetime.isoformat`` writes it (``+01:00``)."""
    return datetime(2000, 1, 1, tzinfo=timezone(offset)).isoformat()[19:]


def offset_spans(zone: tzinfo, first: datetime, last: datetime) -> list[tuple[datetime, timedelta]]:
    """``(from, offset)`` for each span of [first, last) (UTC) with one offset in ``zone``,
    in order; the first starts at ``first``."""

    def offset(moment: datetime) -> timedelta:
        found = moment.astimezone(zone).utcoffset()
        assert found is not None
        return found

    spans = [(first, offset(first))]
    moment = first
    while moment < last:
        step_end = min(moment + _OFFSET_STEP, last)
        current = spans[-1][1]
        if offset(step_end) != current:
            low, high = moment, step_end  # offset(low) == current != offset(high)
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if middle <= low:
                    middle = low + timedelta(seconds=1)
                if offset(middle) == current:
                    low = middle
                else:
                    high = middle
            spans.append((high, offset(high)))
        moment = step_end
    return spans


def _local_time_sql(zone: tzinfo, first_day: date, last_day: date) -> tuple[str, list[str | int]]:
    """The SQL for ``r.submitted_at`` as the zone's local ISO time, and its parameters."""
    low = datetime.combine(first_day - timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    high = datetime.combine(last_day + timedelta(days=3), datetime.min.time(), tzinfo=UTC)
    spans = offset_spans(zone, low, high)

    def stamp(moment: datetime) -> str:
        return moment.isoformat(timespec="seconds")  # "+00:00", as stored

    params: list[str | int] = [stamp(low), stamp(high)]
    branches: list[str] = []
    for index, (_, offset) in enumerate(spans):
        seconds = int(offset.total_seconds())
        if seconds == 0:  # UTC: the stored text is already the file's (quoted, should it
            text = _sql_csv_field("r.submitted_at")  # hold what the csv writer quotes)
            values: list[str | int] = []
        else:
            text = "strftime('%Y-%m-%dT%H:%M:%S', substr(r.submitted_at, 1, 19), ?) || ?"
            values = [f"{seconds:+d} seconds", _suffix(offset)]
        if index + 1 < len(spans):
            branches.append(f"WHEN r.submitted_at < ? THEN {text}")
            params += [stamp(spans[index + 1][0]), *values]
        else:
            branches.append(f"ELSE {text} END" if branches else text)
            params += values
    sql = (
        f"CASE WHEN {_STORED_UTC} AND r.submitted_at >= ? AND r.submitted_at < ?"
        f" THEN {'CASE ' if len(branches) > 1 else ''}{' '.join(branches)}"
        f" ELSE {_LOCAL_TIME_FUNCTION}(r.submitted_at) END"
    )
    return sql, params


def csv_rows_query(
    conn: sqlite3.Connection,
    where: str,
    params: Sequence[object],
    names: Mapping[int, str],
    on_leave: Mapping[tuple[str, int], str],
    zone: tzinfo,
    first_day: date,
    last_day: date,
) -> sqlite3.Cursor:
    """A cursor over the export's CSV rows (COLUMNS, every field text as the file has it) of
    ``dar_reports r WHERE {where}``, ordered by day and member. ``conn`` is the export's own
    read connection: its two temporary tables (the names, the leave labels) and the
    function are made on it; ``on_leave`` is keyed by the ISO day."""
    conn.create_function(_LOCAL_TIME_FUNCTION, 1, LocalTime(zone))
    # Temporary tables are this connection's alone, but query_only refuses them too.
    conn.execute("PRAGMA query_only=OFF")
    try:
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS export_names (id INTEGER PRIMARY KEY, name TEXT)"
        )
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS export_leave (day TEXT, user_id INTEGER,"
            " label TEXT, PRIMARY KEY (day, user_id)) WITHOUT ROWID"
        )
        conn.execute("DELETE FROM temp.export_names")
        conn.execute("DELETE FROM temp.export_leave")
        conn.executemany(
            "INSERT INTO temp.export_names (id, name) VALUES (?, ?)",
            [(user_id, csv_field(csv_safe(name))) for user_id, name in names.items() if name],
        )
        conn.executemany(
            "INSERT INTO temp.export_leave (day, user_id, label) VALUES (?, ?, ?)",
            [(day, user_id, csv_field(label)) for (day, user_id), label in on_leave.items()],
        )
    finally:
        conn.execute("PRAGMA query_only=ON")
    local_sql, local_params = _local_time_sql(zone, first_day, last_day)
    sql = (
        "SELECT "  # noqa: S608 (constants)
        + ", ".join(
            [
                _sql_csv_field("r.day"),
                "coalesce(n.name, CAST(r.user_id AS TEXT))",
                _sql_csv_field(_sql_csv_safe("r.done")),
                _sql_csv_field(_sql_csv_safe("r.plan")),
                _sql_csv_field(_sql_csv_safe("coalesce(r.blockers, '')")),
                _SQL_HOURS,
                local_sql,
                "CASE WHEN r.late THEN 'yes' ELSE 'no' END",
                "coalesce(l.label, '')",
            ]
        )
        + " FROM dar_reports r"
        " LEFT JOIN temp.export_names n ON n.id = r.user_id"
        " LEFT JOIN temp.export_leave l ON l.day = r.day AND l.user_id = r.user_id"
        f" WHERE {where} ORDER BY r.day, r.user_id"
    )
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor.execute(sql, [*local_params, *params])


class XlsxOpenpyxlSink:
    """XLSX through openpyxl's write-only mode: the reference for XlsxSink's output (tests)
    and its speed (bench/bench_dar.py)."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        # openpyxl is imported for the first XLSX export, not with the bot: it is a large
        # import (bench/bench_startup.py) for an occasional file.
        from openpyxl import Workbook
        from openpyxl.worksheet._write_only import WriteOnlyWorksheet

        self._book: Workbook = Workbook(write_only=True)
        sheet = self._book.create_sheet("Reports")
        assert isinstance(sheet, WriteOnlyWorksheet)
        self._sheet: WriteOnlyWorksheet = sheet
        # The stubs miss the worksheet attribute write-only sheets delegate to.
        # pyre-ignore[16]
        dimensions = sheet.column_dimensions  # pyright: ignore[reportAttributeAccessIssue]
        for index, width in enumerate(_XLSX_WIDTHS):
            dimensions[chr(ord("A") + index)].width = width
        sheet.freeze_panes = "A2"
        from openpyxl.cell.cell import WriteOnlyCell
        from openpyxl.styles import Font

        bold = Font(bold=True)
        header: list[object] = []
        for name in COLUMNS:
            cell = WriteOnlyCell(sheet, value=name)
            # The stubs type the style descriptor, not the Font it holds.
            # pyre-ignore[8]
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        self._rows = 1

    def _text(self, value: str) -> Cell | str:
        cleaned = _ILLEGAL_XML.sub("", value)
        if not cleaned.startswith("="):
            return cleaned  # a plain string cell (the common case, and the fast one)
        from openpyxl.cell.cell import WriteOnlyCell

        cell = WriteOnlyCell(self._sheet, value=cleaned)
        cell.data_type = "s"  # text that looks like a formula stays text
        return cell

    def write(self, rows: Sequence[ExportRow]) -> None:
        for row in rows:
            # Spreadsheets have no timezones: the guild's local wall-clock time.
            self._sheet.append(
                [
                    row.day,
                    self._text(row.member),
                    self._text(row.done),
                    self._text(row.plan),
                    self._text(row.blockers),
                    row.hours,
                    row.submitted_at.replace(tzinfo=None),
                    row.late,
                    self._text(row.on_leave),
                ]
            )
        self._rows += len(rows)

    def close(self) -> None:
        # A filter button on every column header, over all the rows written.
        last_column = chr(ord("A") + len(COLUMNS) - 1)
        # The stubs miss the worksheet attribute write-only sheets delegate to.
        # pyre-ignore[16]
        auto_filter = self._sheet.auto_filter  # pyright: ignore[reportAttributeAccessIssue]
        auto_filter.ref = f"A1:{last_column}{self._rows}"
        self._book.save(self._out)


_EXCEL_EPOCH = datetime(
    1899, 12, 30
)  # day 0 of Excel's 1900 date system (as used since 1900-03-01)
_EXCEL_EPOCH_DAY: int = _EXCEL_EPOCH.toordinal()
_XLSX_CELL_MAX = 32_767  # characters a cell holds
_COLUMN_LETTERS = "ABCDEFGHI"
_XLSX_PARTS: dict[str, str] = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
        "</Relationships>"
    ),
    # Cell styles: 0 plain, 1 a date, 2 a date and time, 3 the bold header.
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/>'
        '<numFmt numFmtId="165" formatCode="yyyy\\-mm\\-dd\\ hh:mm:ss"/></numFmts>'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}
_SHEET_START: str = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<sheetViews><sheetView workbookViewId="0">'
    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    "</sheetView></sheetViews>"
    "<cols>"
    + "".join(
        f'<col min="{n}" max="{n}" width="{width}" customWidth="1"/>'
        for n, width in enumerate(_XLSX_WIDTHS, start=1)
    )
    + "</cols><sheetData>"
)


def _xml_text(value: str) -> str:
    """Text for an XML element: escaped, without the characters XML cannot hold, cut to what
    a cell holds."""
    if len(value) > _XLSX_CELL_MAX:
        value = value[:_XLSX_CELL_MAX]
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _ILLEGAL_XML.sub("", value) if _ILLEGAL_XML.search(value) else value


class XlsxSink:
    """XLSX written directly: the sheet's XML streamed into the zip, row by row, text as inline
    strings (as xlsxwriter's constant-memory mode does), so memory stays flat however long the
    export. Text is never a formula: an inline string cell has no formula. openpyxl's and
    xlsxwriter's writers took 18-21 s and 16 s for a 500-member year (bench/bench_dar.py,
    XlsxOpenpyxlSink below is kept as the reference the tests read this file against)."""

    def __init__(self, out: IO[bytes]) -> None:
        # Level 1: most of deflate's size gain on this text at a fraction of level 6's time.
        self._zip = zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        for name, text in _XLSX_PARTS.items():
            self._zip.writestr(name, text)
        self._sheet: IO[bytes] = self._zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        header = "".join(
            f'<c r="{letter}1" t="inlineStr" s="3"><is><t>{name}</t></is></c>'
            for letter, name in zip(_COLUMN_LETTERS, COLUMNS, strict=True)
        )
        self._sheet.write(f'{_SHEET_START}<row r="1">{header}</row>'.encode())
        self._rows = 1

    def write(self, rows: Sequence[ExportRow]) -> None:
        parts: list[str] = []
        add = parts.append
        number = self._rows
        text = _xml_text
        for row in rows:
            number += 1
            n = str(number)
            cells = [
                f'<row r="{n}"><c r="A{n}" s="1"><v>{row.day.toordinal() - _EXCEL_EPOCH_DAY}</v></c>'
                f'<c r="B{n}" t="inlineStr"><is><t xml:space="preserve">{text(row.member)}</t></is></c>'
            ]
            for letter, value in (("C", row.done), ("D", row.plan), ("E", row.blockers)):
                if value:
                    cells.append(
                        f'<c r="{letter}{n}" t="inlineStr"><is><t xml:space="preserve">'
                        f"{text(value)}</t></is></c>"
                    )
            if row.minutes is not None:
                cells.append(f'<c r="F{n}"><v>{round(row.minutes / 60, 2)!r}</v></c>')
            # Spreadsheets have no timezones: the guild's local wall-clock time.
            moment = row.submitted_at.replace(tzinfo=None) - _EXCEL_EPOCH
            serial = moment.days + moment.seconds / 86_400
            cells.append(
                f'<c r="G{n}" s="2"><v>{serial!r}</v></c>'
                f'<c r="H{n}" t="b"><v>{1 if row.late else 0}</v></c>'
            )
            if row.on_leave:
                cells.append(f'<c r="I{n}" t="inlineStr"><is><t>{text(row.on_leave)}</t></is></c>')
            cells.append("</row>")
            add("".join(cells))
        self._sheet.write("".join(parts).encode())
        self._rows = number

    def close(self) -> None:
        # A filter button on every column header, over all the rows written.
        last = f"{_COLUMN_LETTERS[-1]}{self._rows}"
        self._sheet.write(f'</sheetData><autoFilter ref="A1:{last}"/></worksheet>'.encode())
        self._sheet.close()
        self._zip.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Reports" sheetId="1" r:id="rId1"/></sheets>'
            '<definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
            f"Reports!$A$1:${_COLUMN_LETTERS[-1]}${self._rows}</definedName></definedNames>"
            "</workbook>",
        )
        self._zip.close()


def open_sink(fmt: str, out: IO[bytes]) -> Sink:
    if fmt == "csv":
        return CsvSink(out)
    if fmt == "xlsx":
        return XlsxSink(out)
    if fmt == "xlsx-openpyxl":
        return XlsxOpenpyxlSink(out)
    raise ValueError(f"unknown export format {fmt!r}")


def write_table(
    fmt: str, out: IO[bytes], header: Sequence[str], rows: Sequence[Sequence[str]]
) -> None:
    """A small table with columns known only at run time (a check-in's questions): CSV with
    the same formula guard as the reports' export, or XLSX through openpyxl (a bold header
    with a filter)."""
    if fmt == "csv":
        text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
        writer = csv.writer(text)
        writer.writerow(header)
        writer.writerows([csv_safe(cell) for cell in row] for row in rows)
        text.flush()
        text.detach()
        return
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(header))
    for cell in sheet[1]:
        # The stubs type the style descriptor, not the Font it holds.
        # pyre-ignore[8, 9]
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_ILLEGAL_XML.sub("", cell) for cell in row])
        for cell in sheet[sheet.max_row]:
            value = cell.value
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text, never a formula
    sheet.auto_filter.ref = sheet.dimensions
    workbook.save(out)
