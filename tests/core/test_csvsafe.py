"""CSV exports: no cell a spreadsheet could run as a formula (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

import pytest

from mailwarden.core.csvsafe import csv_text, safe_cell


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://evil","x")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A9)",
        "\t=1+1",
        "\r=1+1",
        "\n=1+1",
        " =1+1",  # spreadsheets skip leading spaces
        "\u00a0\u3000=1+1",  # and other spaces
        "'=1+1",  # and a leading quote
        '"=1+1',
        "  ' \"@cmd",
        "\uff1d1+1",  # full-width equals
        "\uff0bcmd",
        "\t",
    ],
)
def test_a_cell_that_could_run_is_made_text(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize(
    "value", ["Ann", "O'Brien", "2026-03-01T15:30:00+00:00", "a=b", "x-ray", "", "  spaced"]
)
def test_ordinary_cells_are_left_alone(value):
    assert safe_cell(value) == value


def test_none_is_an_empty_cell():
    assert safe_cell(None) == ""


def test_every_cell_is_quoted_and_a_separator_or_quote_cannot_start_a_new_cell():
    text = csv_text(["name", "note"], [['Ann, "=cmd"', "x;=1+1"], ["a\n=2", None], ["=bad", 5]])
    lines = text.splitlines()
    assert lines[0] == '"name","note"'
    assert lines[1] == '"Ann, ""=cmd""","x;=1+1"'
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1:] == [['Ann, "=cmd"', "x;=1+1"], ["a\n=2", ""], ["'=bad", "5"]]
