"""Recipient CSV parsing: all rows or a list of every problem, with the file's line numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwarden.directory.csv_import import (
    MAX_ROWS,
    REQUIRED_COLUMNS,
    CsvImportError,
    RecipientRow,
    RowError,
    decode_csv,
    parse_recipients_csv,
)

HEADER = (
    "employee_id,first_name,last_name,preferred_name,email,phone,department,mail_stop,"
    "manager_employee_id"
)
GOOD = [
    "E100,John,Smith,Jack,john.smith@example.org,+1 (555) 123-4567,Finance,B4-217,",
    "E101,Joan,Smith,,joan.smith@example.org,020 7946 0958,Facilities,A1-004,E100",
]


def _csv(*lines: str, header: str = HEADER) -> str:
    return "\n".join([header, *lines]) + "\n"


def _errors(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(CsvImportError) as caught:
        parse_recipients_csv(text)
    return [(e.line, e.field, e.reason) for e in caught.value.errors]


def test_good_file():
    rows = parse_recipients_csv(_csv(*GOOD))
    assert rows == [
        RecipientRow(
            employee_id="E100",
            first_name="John",
            last_name="Smith",
            preferred_name="Jack",
            email="john.smith@example.org",
            phone="+15551234567",
            department="Finance",
            mail_stop="B4-217",
            manager_employee_id=None,
        ),
        RecipientRow(
            employee_id="E101",
            first_name="Joan",
            last_name="Smith",
            email="joan.smith@example.org",
            phone="02079460958",
            department="Facilities",
            mail_stop="A1-004",
            manager_employee_id="E100",
        ),
    ]


def test_only_required_columns_and_any_order():
    rows = parse_recipients_csv("email,last_name,employee_id,first_name\na@b.example,Lee,7,Ann\n")
    assert rows == [
        RecipientRow(employee_id="7", first_name="Ann", last_name="Lee", email="a@b.example")
    ]
    assert set(REQUIRED_COLUMNS) == {"employee_id", "first_name", "last_name", "email"}


def test_header_names_ignore_case_spaces_and_hyphens():
    header = " Employee ID ,FIRST_NAME,Last-Name,EMAIL,Mail Stop"
    rows = parse_recipients_csv(_csv("E1,Ann,Lee,ann@example.org,C3", header=header))
    assert (rows[0].employee_id, rows[0].mail_stop) == ("E1", "C3")


def test_values_are_stripped():
    rows = parse_recipients_csv(_csv("  E1 , Ann ,  Lee ,,ann@example.org ,,,, "))
    assert (rows[0].employee_id, rows[0].first_name, rows[0].last_name) == ("E1", "Ann", "Lee")


@pytest.mark.parametrize("bom", ["", "\ufeff"], ids=["no-bom", "bom"])
def test_utf8_with_or_without_bom(bom):
    data = (bom + _csv("E1,Zoë,Ní Bhriain,,zoe@example.org,,,,")).encode("utf-8")
    rows = parse_recipients_csv(decode_csv(data))
    assert rows[0].employee_id == "E1"
    assert rows[0].last_name == "Ní Bhriain"
    assert parse_recipients_csv(data.decode("utf-8")) == rows  # BOM left in by the caller


def test_non_utf8_bytes_are_refused_with_their_line():
    data = _csv("E1,Zoë,Lee,,zoe@example.org,,,,").encode("latin-1")
    with pytest.raises(CsvImportError) as caught:
        decode_csv(data)
    (error,) = caught.value.errors
    assert (error.line, error.field) == (2, "file")
    assert "not UTF-8" in error.reason


def test_unknown_columns_are_named():
    header = "employee_id,first_name,last_name,email,Salary,Shoe Size"
    errors = _errors(_csv("E1,Ann,Lee,ann@example.org,x,y", header=header))
    assert [(line, field) for line, field, _ in errors] == [(1, "Salary"), (1, "Shoe Size")]
    assert all("unknown column" in reason for _, _, reason in errors)


def test_missing_required_columns_are_named():
    errors = _errors("employee_id,first_name\nE1,Ann\n")
    assert errors == [
        (1, "last_name", "required column is missing"),
        (1, "email", "required column is missing"),
    ]


def test_duplicate_and_unnamed_columns():
    errors = _errors("employee_id,first_name,last_name,email,Email,\n")
    assert errors == [
        (1, "Email", "column appears more than once"),
        (1, "column 6", "has no name"),
    ]


def test_every_bad_row_is_reported_and_nothing_is_returned():
    text = _csv(
        GOOD[0],
        "E2,,Lee,,not-an-email,12,,,",  # line 3: three problems
        "",  # line 4: blank, skipped but counted
        GOOD[1],
        "E3,Ann,Lee,,ann@example,555-0100-abc,,,",  # line 6
        "E4,Ann,Lee",  # line 7: too few fields
    )
    assert _errors(text) == [
        (3, "first_name", "is required"),
        (3, "email", "is not an email address: it needs one @ with text on both sides"),
        (3, "phone", "has 2 digits; a phone number has 7 to 15"),
        (6, "email", "has an invalid domain: 'example'"),
        (6, "phone", "may hold only digits, spaces, ( ) . - / and a leading +"),
        (7, "row", "has 3 fields but the header has 9"),
    ]


def test_line_numbers_count_lines_inside_quoted_values():
    text = _csv(
        'E1,Ann,Lee,,ann@example.org,,"Research\nand Development",,',  # lines 2-3
        "E2,Bo,,,bo@example.org,,,,",  # line 4
    )
    assert _errors(text) == [(4, "last_name", "is required")]


def test_crlf_line_endings():
    text = _csv(*GOOD).replace("\n", "\r\n") + "E1,Ann,,,ann@example.org,,,,\r\n"
    assert _errors(text) == [(4, "last_name", "is required")]


def test_duplicate_employee_id_is_an_error_on_the_later_line():
    text = _csv(
        GOOD[0],
        GOOD[1],
        "e100,Jim,Smith,,jim@example.org,,,,",  # same id in another case
        "E101,,Smith,,bad,,,,",  # a duplicate that is also faulty
    )
    assert _errors(text) == [
        (4, "employee_id", "duplicates the employee_id on line 2"),
        (5, "employee_id", "duplicates the employee_id on line 3"),
        (5, "first_name", "is required"),
        (5, "email", "is not an email address: it needs one @ with text on both sides"),
    ]


def test_manager_cannot_be_oneself():
    assert _errors(_csv("E1,Ann,Lee,,ann@example.org,,,,E1")) == [
        (2, "manager_employee_id", "is the employee's own id")
    ]


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("+44 20 7946 0958", "+442079460958"),
        ("(555) 123-4567", "5551234567"),
        ("555.123.4567", "5551234567"),
        ("1234567", "1234567"),
        ("+123456789012345", "+123456789012345"),
        ("", None),
        ("   ", None),
    ],
)
def test_phone_normalisation(raw, normalised):
    rows = parse_recipients_csv(_csv(f"E1,Ann,Lee,,ann@example.org,{raw},,,"))
    assert rows[0].phone == normalised


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("123456", "has 6 digits; a phone number has 7 to 15"),
        ("1234567890123456", "has 16 digits; a phone number has 7 to 15"),
        ("555-CALL-NOW", "may hold only digits, spaces, ( ) . - / and a leading +"),
        ("12+34567890", "may hold only digits, spaces, ( ) . - / and a leading +"),
        ("\u0661\u0662\u0663\u0664\u0665\u0666\u0667", "may hold only digits"),
    ],
)
def test_bad_phone_numbers(raw, reason):
    ((line, field, message),) = _errors(_csv(f"E1,Ann,Lee,,ann@example.org,{raw},,,"))
    assert (line, field) == (2, "phone")
    assert message.startswith(reason)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("Ann.Lee@Example.ORG", "Ann.Lee@example.org"),
        ("ann+post@mail.example.co.uk", "ann+post@mail.example.co.uk"),
        ("ann@bücher.example", "ann@xn--bcher-kva.example"),
    ],
)
def test_good_emails(raw, stored):
    assert parse_recipients_csv(_csv(f"E1,Ann,Lee,,{raw},,,,"))[0].email == stored


@pytest.mark.parametrize(
    "raw",
    [
        "ann",
        "@example.org",
        "ann@",
        "ann@localhost",
        "ann..lee@example.org",
        ".ann@example.org",
        "ann lee@example.org",
        "ann@-example.org",
        "ann@example.c0m",
        "ann@exa_mple.org",
    ],
)
def test_bad_emails(raw):
    ((line, field, _),) = _errors(_csv(f"E1,Ann,Lee,,{raw},,,,"))
    assert (line, field) == (2, "email")


def test_control_characters_are_refused():
    assert _errors(_csv("E1,Ann\x07,Lee,,ann@example.org,,,,")) == [
        (2, "first_name", "contains control characters")
    ]


def test_over_long_values_are_refused():
    ((line, field, reason),) = _errors(_csv(f"E1,Ann,Lee,,ann@example.org,,,{'X' * 41},"))
    assert (line, field) == (2, "mail_stop")
    assert "40" in reason


def test_empty_file():
    assert _errors("") == [(1, "header", "the file is empty")]
    assert _errors("\ufeff") == [(1, "header", "the file is empty")]


def test_header_only_gives_no_rows():
    assert parse_recipients_csv(HEADER + "\n") == []


def test_rows_of_empty_fields_are_skipped():
    assert len(parse_recipients_csv(_csv(GOOD[0], ",,,,,,,,", GOOD[1]))) == 2


def test_malformed_quoting_is_reported_with_its_line():
    errors = _errors(_csv(GOOD[0], 'E2,"Ann"x,Lee,,ann@example.org,,,,'))
    assert errors[-1][:2] == (3, "row")
    assert "not valid CSV" in errors[-1][2]


def test_row_limit():
    line = "E{},Ann,Lee,,ann@example.org,,,,"
    at_limit = _csv(*(line.format(i) for i in range(MAX_ROWS)))
    assert len(parse_recipients_csv(at_limit)) == MAX_ROWS
    over = at_limit + line.format(MAX_ROWS) + "\n"
    assert _errors(over) == [(MAX_ROWS + 2, "row", f"more than {MAX_ROWS} rows; split the file")]


def test_error_message_summarises():
    with pytest.raises(CsvImportError) as caught:
        parse_recipients_csv(_csv(*(f"E{i},,Lee,,x,,,," for i in range(3))))
    message = str(caught.value)
    assert message.startswith("recipient CSV refused, 6 problems: line 2, first_name: is required")
    assert message.endswith("(and 3 more)")
    assert isinstance(caught.value, ValueError)
    assert str(RowError(4, "email", "bad")) == "line 4, email: bad"


@given(st.text(max_size=300))
def test_arbitrary_text_either_parses_or_is_refused_with_errors(text):
    try:
        rows = parse_recipients_csv(text)
    except CsvImportError as exc:
        assert exc.errors
        assert all(e.line >= 1 for e in exc.errors)
    else:
        assert all(isinstance(row, RecipientRow) for row in rows)
