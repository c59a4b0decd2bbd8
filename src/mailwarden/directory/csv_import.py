"""Parse a recipient directory exported as CSV, all or nothing.

Every problem in the file is collected before anything is returned, so an administrator fixes the
file in one pass, and a caller that gets rows back knows the whole file is sound: it never imports
half a directory.

Format: comma-separated, the first line a header. Header names are matched without regard to
case, surrounding spaces, or spaces and hyphens in place of underscores ("First Name" is
``first_name``). Values are stripped of surrounding whitespace. Blank lines are skipped but still
counted, so line numbers in errors are those an editor shows, the header being line 1.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "ALL_COLUMNS",
    "MAX_ROWS",
    "REQUIRED_COLUMNS",
    "CsvImportError",
    "RecipientRow",
    "RowError",
    "decode_csv",
    "parse_recipients_csv",
]

MAX_ROWS = 50_000

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_PHONE_ALLOWED = re.compile(r"[0-9 ().\-/]*")
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TOP_LEVEL = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")


def _email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        raise ValueError("is not an email address: it needs one @ with text on both sides")
    if len(local) > 64 or not _EMAIL_LOCAL.fullmatch(local):
        raise ValueError(f"has an invalid part before the @: {local!r}")
    try:
        # Internationalised domains are stored in their ASCII (punycode) form.
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise ValueError(f"has an invalid domain: {domain!r}") from exc
    labels = ascii_domain.split(".")
    if (
        len(labels) < 2
        or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels)
        or not _TOP_LEVEL.fullmatch(labels[-1])
    ):
        raise ValueError(f"has an invalid domain: {domain!r}")
    return f"{local}@{ascii_domain}"


def _phone(value: str) -> str:
    plus = value.startswith("+")
    body = value[1:] if plus else value
    if not _PHONE_ALLOWED.fullmatch(body):
        raise ValueError("may hold only digits, spaces, ( ) . - / and a leading +")
    digits = re.sub(r"[^0-9]", "", body)
    if not 7 <= len(digits) <= 15:
        raise ValueError(f"has {len(digits)} digits; a phone number has 7 to 15")
    return ("+" if plus else "") + digits


class RecipientRow(BaseModel):
    # Lengths match the Recipient columns, so PostgreSQL never sees an over-long value.
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    employee_id: str = Field(min_length=1, max_length=40)
    first_name: str = Field(min_length=1, max_length=80)
    last_name: str = Field(min_length=1, max_length=80)
    preferred_name: str = Field(default="", max_length=80)
    email: str = Field(min_length=1, max_length=254)
    phone: str | None = None
    department: str = Field(default="", max_length=120)
    mail_stop: str = Field(default="", max_length=40)
    manager_employee_id: str | None = Field(default=None, max_length=40)
    # The code of the site the person works at (the file need not have the column).
    site: str | None = Field(default=None, max_length=30, pattern=r"^[-a-zA-Z0-9_]+$")

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        if isinstance(value, str) and _CONTROL.search(value):
            raise ValueError("contains control characters")
        return value

    @field_validator("phone", "manager_employee_id", "site", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        return _email(value)

    @field_validator("phone")
    @classmethod
    def _normal_phone(cls, value: str | None) -> str | None:
        return None if value is None else _phone(value)

    @model_validator(mode="after")
    def _not_own_manager(self) -> RecipientRow:
        if self.manager_employee_id is not None and self.manager_employee_id == self.employee_id:
            raise ValueError("manager_employee_id: is the employee's own id")
        return self


ALL_COLUMNS: tuple[str, ...] = tuple(RecipientRow.model_fields)
REQUIRED_COLUMNS: tuple[str, ...] = tuple(
    name for name, info in RecipientRow.model_fields.items() if info.is_required()
)


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.field}: {self.reason}"


class CsvImportError(ValueError):
    """The file was refused; ``errors`` lists every problem found, in file order."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        shown = "; ".join(str(e) for e in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        noun = "problem" if len(errors) == 1 else "problems"
        super().__init__(f"recipient CSV refused, {len(errors)} {noun}: {shown}{more}")


def decode_csv(data: bytes) -> str:
    """Decode an uploaded file as UTF-8, with or without a byte-order mark."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CsvImportError(
            [RowError(line, "file", f"is not UTF-8 (byte {exc.start + 1}); save it as UTF-8")]
        ) from exc


def _column_key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _header(cells: list[str]) -> list[str]:
    errors: list[RowError] = []
    columns: list[str] = []
    seen: set[str] = set()
    for position, cell in enumerate(cells, start=1):
        key = _column_key(cell)
        if not key:
            errors.append(RowError(1, f"column {position}", "has no name"))
        elif key not in ALL_COLUMNS:
            expected = ", ".join(ALL_COLUMNS)
            errors.append(RowError(1, cell.strip(), f"unknown column; expected: {expected}"))
        elif key in seen:
            errors.append(RowError(1, cell.strip(), "column appears more than once"))
        seen.add(key)
        columns.append(key)
    for required in REQUIRED_COLUMNS:
        if required not in seen:
            errors.append(RowError(1, required, "required column is missing"))
    if errors:
        raise CsvImportError(errors)
    return columns


def _row_errors(line: int, exc: ValidationError) -> list[RowError]:
    found = []
    for error in exc.errors():
        location = error.get("loc") or ()
        field = str(location[0]) if location else "row"
        reason = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "string_too_short" and (error.get("ctx") or {}).get("min_length") == 1:
            reason = "is required"
        if not location and ": " in reason:
            # Errors across fields name their field at the start of the message.
            field, reason = reason.split(": ", 1)
        found.append(RowError(line, field, reason))
    return found


def parse_recipients_csv(text: str) -> list[RecipientRow]:
    """Every row of the file, or :class:`CsvImportError` listing every bad row."""
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    errors: list[RowError] = []
    rows: list[RecipientRow] = []
    first_line_of: dict[str, int] = {}
    columns: list[str] | None = None
    data_rows = 0
    line = 1
    try:
        for cells in reader:
            # A quoted value may span lines: a record starts after the previous one ended.
            record_line, line = line, reader.line_num + 1
            if columns is None:
                columns = _header(cells)
                continue
            if not any(cell.strip() for cell in cells):
                continue
            data_rows += 1
            if data_rows > MAX_ROWS:
                errors.append(
                    RowError(record_line, "row", f"more than {MAX_ROWS} rows; split the file")
                )
                break
            if len(cells) != len(columns):
                reason = f"has {len(cells)} fields but the header has {len(columns)}"
                errors.append(RowError(record_line, "row", reason))
                continue
            values = dict(zip(columns, cells, strict=True))
            # Checked before validation, so a duplicate is reported even when its row has other
            # faults too. Case is ignored: "e100" and "E100" are one person to a human.
            key = values["employee_id"].strip().casefold()
            if key in first_line_of:
                reason = f"duplicates the employee_id on line {first_line_of[key]}"
                errors.append(RowError(record_line, "employee_id", reason))
            elif key:
                first_line_of[key] = record_line
            try:
                row = RecipientRow.model_validate(values)
            except ValidationError as exc:
                errors.extend(_row_errors(record_line, exc))
                continue
            rows.append(row)
    except csv.Error as exc:
        errors.append(RowError(line, "row", f"is not valid CSV: {exc}"))
    if columns is None:
        raise CsvImportError([RowError(1, "header", "the file is empty")])
    if errors:
        raise CsvImportError(errors)
    return rows
