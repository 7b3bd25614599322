"""Report exports as files: CSV (UTF-8 with a BOM so Excel reads it right) and XLSX (openpyxl in
write-only mode, which streams rows to disk instead of building the sheet in memory).

Sinks are synchronous and run on a worker thread (``asyncio.to_thread``); DarManager feeds them
rows in chunks straight from a read cursor, so a year of reports never sits in memory at once.
Text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` …) are
neutralised: in CSV with a leading apostrophe (the OWASP advice), in XLSX by storing them as
plain strings.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Protocol

from openpyxl import Workbook
from openpyxl.cell.cell import Cell, WriteOnlyCell
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


@dataclass(frozen=True)
class ExportRow:
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


def csv_safe(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


class CsvSink:
    def __init__(self, out: IO[bytes]) -> None:
        self._text: io.TextIOWrapper[IO[bytes]] = io.TextIOWrapper(
            out, encoding="utf-8-sig", newline="", write_through=True
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
                "" if row.hours is None else f"{row.hours:g}",
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
        sheet.append(list(COLUMNS))

    def _text(self, value: str) -> Cell | str:
        cleaned = _ILLEGAL_XML.sub("", value)
        if not cleaned.startswith("="):
            return cleaned  # a plain string cell (the common case, and the fast one)
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

    def close(self) -> None:
        self._book.save(self._out)


def open_sink(fmt: str, out: IO[bytes]) -> Sink:
    if fmt == "csv":
        return CsvSink(out)
    if fmt == "xlsx":
        return XlsxSink(out)
    raise ValueError(f"unknown export format {fmt!r}")
