"""CSV files that a spreadsheet opens as data, never as formulas (OWASP, "CSV Injection").

A cell that a spreadsheet could read as a formula gets a leading apostrophe, which spreadsheets
show as text. That is a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or their full-width
forms), also once any leading spaces and quotes are skipped, since spreadsheets skip those too;
and a cell that starts with a tab, carriage return or line feed. Every cell is written in double
quotes, with its own double quotes doubled, so no separator or quote in a value can start a new
cell. Every CSV the product exports is written here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

# The characters that start a formula: ASCII, and the full-width forms some spreadsheets accept.
FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
CONTROL_STARTS = frozenset("\t\r\n")
_SKIPPED = "'\"\u2018\u2019\u201c\u201d"


def _formula_start(text: str) -> str:
    """The first character a spreadsheet reads, past leading spaces and quotes."""
    for char in text:
        if not (char.isspace() or char in _SKIPPED):
            return char
    return ""


def safe_cell(value: object) -> str:
    """The value as a cell no spreadsheet runs."""
    text = "" if value is None else str(value)
    if text[:1] in CONTROL_STARTS or _formula_start(text) in FORMULA_STARTS:
        return "'" + text
    return text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A whole CSV file: the header, then the rows, every cell made safe and quoted."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue()
