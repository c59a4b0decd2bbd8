"""The items list, as filtered, written out as CSV or XLSX: every row of the filter, not a page.

Both formats hold the same columns, in a person's words. Cells that a spreadsheet could run as a
formula are written as text: the CSV through ``core.csvsafe``, the XLSX by typing every text
cell as a string, so a sender named ``=HYPERLINK(...)`` stays a name.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from mailwarden.core.csvsafe import safe_cell
from mailwarden.custody.models import MailItem

HEADER = (
    "Item ID",
    "Received",
    "Site",
    "Recipient",
    "Department",
    "Employee ID",
    "Type",
    "Carrier",
    "Tracking number",
    "State",
    "Where",
    "Sender",
    "Accountable",
    "Flagged for review",
)
# Rows are read from the database this many at a time, so memory stays flat however many match.
CHUNK = 2000


def _received(item: MailItem) -> datetime:
    # In the site's own time, without the offset: spreadsheets have no time-zone-aware cells.
    return item.received_at.astimezone(ZoneInfo(item.site.timezone)).replace(tzinfo=None)


def _row(item: MailItem) -> tuple[object, ...]:
    return (
        item.uid,
        _received(item),
        item.site.name,
        item.recipient.display_name,
        item.recipient.department_name,
        item.recipient.employee_id,
        item.get_kind_display(),
        item.carrier.upper(),
        item.tracking_number,
        item.state_label,
        item.whereabouts,
        item.sender,
        "yes" if item.accountable else "no",
        item.review_reason,
    )


def rows(items: QuerySet[MailItem]) -> Iterator[tuple[object, ...]]:
    for item in items.iterator(chunk_size=CHUNK):
        yield _row(item)


def csv_lines(items: QuerySet[MailItem]) -> Iterator[str]:
    """The CSV a line at a time, for a streamed response; every cell safe and quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)

    def line(values: tuple[object, ...]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(
            [
                safe_cell(f"{value:%Y-%m-%d %H:%M}" if isinstance(value, datetime) else value)
                for value in values
            ]
        )
        return buffer.getvalue()

    yield line(HEADER)
    for values in rows(items):
        yield line(values)


def xlsx_bytes(items: QuerySet[MailItem]) -> bytes:
    """The workbook, written in openpyxl's write-only mode so rows stream to the file."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Items")
    sheet.freeze_panes = "A2"

    def cell(value: object) -> Any:
        written = WriteOnlyCell(sheet, value=value)  # type: ignore[arg-type]
        if isinstance(value, str):
            # openpyxl reads a string starting with "=" as a formula; as a string it is shown.
            written.data_type = "s"
        elif isinstance(value, datetime):
            written.number_format = "yyyy-mm-dd hh:mm"
        return written

    sheet.append([cell(name) for name in HEADER])
    for values in rows(items):
        sheet.append([cell(value) for value in values])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
