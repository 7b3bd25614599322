"""Report exports as files: CSV (UTF-8 with a BOM so Excel reads it right) and XLSX (openpyxl in
write-only mode, which streams rows to disk instead of building the sheet in memory).

Sinks are synchronous and run on a worker thread (``asyncio.to_thread``); DarManager feeds them
rows in chunks straight from a read cursor, so a year of reports never sits in memory at once.
Text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` …) are
neutralised: in CSV with a leading apostrophe (the OWASP advice), in XLSX by storing them as
plain strings.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import IO, TYPE_CHECKING, NamedTuple, Protocol

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

    def close(self) -> None:
        self._text.flush()
        self._text.detach()  # leave ``out`` open for the caller


class XlsxSink:
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


def open_sink(fmt: str, out: IO[bytes]) -> Sink:
    if fmt == "csv":
        return CsvSink(out)
    if fmt == "xlsx":
        return XlsxSink(out)
    raise ValueError(f"unknown export format {fmt!r}")
