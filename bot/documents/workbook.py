"""The indicators as an XLSX workbook (openpyxl): one sheet per level, and the operations by
month. Headers and labels come in translated; numbers stay numbers (percentages formatted)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

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


def workbook(sheets: Sequence[Sheet]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for spec in sheets:
        sheet = book.create_sheet(spec.title[:31])
        sheet.append(list(spec.header))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in spec.rows:
            sheet.append(list(row))
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
        for n, title in enumerate(spec.header, 1):
            sheet.column_dimensions[get_column_letter(n)].width = max(10, min(40, len(title) * 2))
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
