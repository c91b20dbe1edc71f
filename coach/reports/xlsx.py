"""Writing spreadsheet rows safely: every piece of text is a text cell, never a formula.

openpyxl turns any string that starts with ``=`` into a formula, and Excel
treats text starting with ``+``, ``-``, ``@``, tab or CR as one when the cell is
edited. Names, display names, products and notes come from users, so every
export writes rows through :func:`append_row`: strings become text cells
(``data_type "s"``) and the risky ones also get Excel's quote prefix (the ``'``
a person would type), so they stay text even after someone edits the cell.
Characters that are not allowed in the file format are dropped instead of
making the whole export fail. Numbers, dates and ``None`` are written as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet.worksheet import Worksheet

__all__ = ["FORMULA_STARTS", "append_row", "text_cell_value"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def text_cell_value(value: str) -> str:
    """The string as it can be stored in a workbook (illegal control characters removed)."""
    return str(ILLEGAL_CHARACTERS_RE.sub("", value))


def append_row(sheet: Worksheet, values: Iterable[Any]) -> None:
    """``sheet.append(values)`` with every string written as a text cell."""
    row = list(values)
    sheet.append([text_cell_value(v) if isinstance(v, str) else v for v in row])
    for cell, original in zip(sheet[sheet.max_row], row, strict=False):
        if isinstance(original, str):
            cell.data_type = "s"  # never "f": openpyxl would store "=…" as a formula
            if original.lstrip(" ").startswith(FORMULA_STARTS):
                cell.quotePrefix = True
