"""What counts as data a restore would replace, and how the refusal names it."""

from __future__ import annotations

from mailwarden.core.backup import database, restore

MIGRATED = {
    "django_migrations": 96,
    "django_content_type": 106,
    "auth_permission": 424,
    "screening_indicator": 19,
    "training_course": 7,
    "core_ledgerentry": 0,
}


def test_a_freshly_migrated_database_holds_no_data():
    assert not database.holds_data(MIGRATED)
    assert not database.holds_data({})


def test_one_ledger_entry_is_data():
    assert database.holds_data({**MIGRATED, "core_ledgerentry": 1})


def test_a_database_without_a_ledger_holds_data_beyond_bookkeeping():
    assert not database.holds_data({"django_migrations": 3})
    assert database.holds_data({"django_migrations": 3, "someone_elses": 1})


def test_rows_are_named_as_the_models_call_themselves_largest_first():
    lost = restore.describe_rows(
        {"custody_mailitem": 12_345, "core_ledgerentry": 40_002, "auth_permission": 424}
    )
    assert lost == ["40,002 ledger entries", "12,345 mail items"]


def test_the_summary_says_how_many_more_kinds_there_are():
    lost = [f"{n} things{n}" for n in range(10, 0, -1)]
    assert (
        restore.summary(lost, shown=3)
        == "10 things10; 9 things9; 8 things8; and 7 more kinds of rows"
    )
