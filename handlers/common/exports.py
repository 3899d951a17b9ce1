"""CSV files for spreadsheets: UTF-8 with a BOM (so Excel reads Chinese), formula-safe cells."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from aiogram.types import BufferedInputFile


def safe_cell(value: object) -> object:
    """Spreadsheets run a cell starting with = + - @ as a formula: make residents' text inert."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_file(
    header: Sequence[object], rows: Iterable[Sequence[object]], filename: str
) -> BufferedInputFile:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    data = ("\ufeff" + buffer.getvalue()).encode("utf-8")
    return BufferedInputFile(data, filename=filename)
