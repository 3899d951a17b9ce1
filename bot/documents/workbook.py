"""The indicators as an XLSX workbook (openpyxl): one sheet per level, and the operations by
month. Headers and labels come in translated; numbers stay numbers (percentages formatted),
yes/no cells are written in the reader's words (是/否), times in the deployment's time zone, and
each column is as wide as its content."""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

MET = PatternFill("solid", fgColor="C8E6C9")
BEHIND = PatternFill("solid", fgColor="FFCDD2")


@dataclass(frozen=True, slots=True)
class Sheet:
    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[object]]
    # Column index -> number format (e.g. "0.0%"); rows whose `status_column` is True are
    # coloured green, False red.
    formats: dict[int, str]
    status_column: int | None = None
    # How a True / False cell reads (the reader's language: 是/否, Yes/No).
    yes_no: tuple[str, str] = ("Yes", "No")


MIN_WIDTH, MAX_WIDTH = 8, 60


def text_width(value: object) -> int:
    """How many character cells a value takes in a spreadsheet: CJK characters count two."""
    text = value if isinstance(value, str) else str(value)
    longest = 0
    for line in text.splitlines() or [""]:
        longest = max(
            longest, sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)
        )
    return longest


def cell_value(value: object, yes_no: tuple[str, str], tz: ZoneInfo | None) -> object:
    """What a spreadsheet cell holds: booleans in words, aware times local and naive (Excel
    has no time zones), everything else as it is."""
    if isinstance(value, bool):
        return yes_no[0] if value else yes_no[1]
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(tz).replace(tzinfo=None) if tz else value.replace(tzinfo=None)
    return value


def _shown(value: object) -> object:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:,.2f}"
    return "" if value is None else value


def workbook(sheets: Sequence[Sheet], tz: ZoneInfo | None = None) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for spec in sheets:
        sheet = book.create_sheet(spec.title[:31])
        sheet.append(list(spec.header))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        widths = [text_width(h) + 2 for h in spec.header]  # bold headers run a little wider
        for row in spec.rows:
            values = [cell_value(v, spec.yes_no, tz) for v in row]
            sheet.append(values)
            for n, value in enumerate(values):
                if n >= len(widths):
                    widths.append(0)
                widths[n] = max(widths[n], text_width(_shown(value)))
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
            if spec.status_column is not None:
                flag = row[spec.status_column]
                fill = MET if flag is True else BEHIND if flag is False else None
                if fill is not None:
                    for cell in sheet[sheet.max_row]:
                        cell.fill = fill
        for column, number_format in spec.formats.items():
            for cells in sheet.iter_rows(min_row=2, min_col=column + 1, max_col=column + 1):
                for cell in cells:
                    cell.number_format = number_format
        for n, width in enumerate(widths, 1):
            sheet.column_dimensions[get_column_letter(n)].width = max(
                MIN_WIDTH, min(MAX_WIDTH, width + 2)
            )
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
