"""A recipients CSV is imported whole or not at all."""

from __future__ import annotations

import pytest

from mailwarden.directory import services
from mailwarden.directory.csv_import import CsvImportError
from mailwarden.directory.models import Recipient
from tests.custody_services.conftest import snapshot
from tests.factories import MANAGER

HEADER = "employee_id,first_name,last_name,email,department,manager_employee_id\n"


def test_good_file_imports_every_row(db):
    text = (
        HEADER + "E1,Ada,Lovelace,ada@example.org,Research,\nE2,Alan,Turing,alan@example.org,,E1\n"
    )
    result = services.import_recipients(MANAGER, text)
    assert (result.created, result.updated) == (2, 0)
    assert Recipient.objects.get(employee_id="E2").manager.employee_id == "E1"


@pytest.mark.parametrize(
    ("rows", "field"),
    [
        ("E1,Ada,Lovelace,ada@example.org,,\nE2,Alan,Turing,not-an-email,,\n", "email"),
        ("E1,Ada,Lovelace,ada@example.org,,\nE2,,Turing,alan@example.org,,\n", "first_name"),
        # Every row parses; the manager named on the last one does not exist.
        (
            "E1,Ada,Lovelace,ada@example.org,,\nE2,Alan,Turing,alan@example.org,,E404\n",
            "manager_employee_id",
        ),
    ],
    ids=["bad email", "missing first name", "unknown manager"],
)
def test_bad_file_imports_nothing(db, rows, field):
    services.import_recipients(MANAGER, HEADER + "E0,Grace,Hopper,grace@example.org,,\n")
    before = snapshot()
    with pytest.raises(CsvImportError) as refused:
        services.import_recipients(MANAGER, HEADER + rows)
    assert [(e.line, e.field) for e in refused.value.errors] == [(3, field)]
    assert list(Recipient.objects.values_list("employee_id", flat=True)) == ["E0"]
    assert snapshot() == before
