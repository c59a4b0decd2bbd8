"""The chain walk judges each row's columns exactly as ``chain.columns_match`` does.

The walk settles the common row in two string comparisons and hands everything else to
``columns_match``; these rows, built as ``ledger.append`` builds them and read back as SQLite
spells them, take both ways, and every edit of a column must still be named.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailwarden.core import chain, ledger
from mailwarden.core.actor import Actor
from mailwarden.core.roles import Role

ODD_TEXT = [
    "plain",
    'with "quotes"',
    "back\\slash",
    "new\nline and\ttab",
    "control \x01 char",
    "José Müller, 東京",
    "line\u2028separator",
    "T and spaces",
]


def _rows(actor_label: str, subject_id: str, at: datetime, count: int = 3) -> list[chain.Row]:
    actor = Actor("user", actor_label, frozenset({Role.CLERK}))
    rows: list[chain.Row] = []
    prev_hash = chain.GENESIS
    for seq in range(1, count + 1):
        entry = ledger.build_entry(
            seq=seq,
            prev_hash=prev_hash,
            actor=actor,
            action="custody.item.moved",
            subject_type="mailitem",
            subject_id=subject_id,
            data={"to": "shelf-b"},
            at=at,
        )
        # SQLite's text of a stored datetime: UTC, without the offset; no fraction when zero
        text = at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        rows.append(
            (
                seq,
                entry.body,
                entry.prev_hash,
                entry.hash,
                entry.actor,
                entry.action,
                entry.subject_type,
                entry.subject_id,
                text,
            )
        )
        prev_hash = entry.hash
    return rows


TIMES = [
    datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    datetime(2026, 3, 2, 9, 0, 0, 120, tzinfo=UTC),
]


@pytest.mark.parametrize("text", ODD_TEXT)
@pytest.mark.parametrize("at", TIMES)
def test_sound_rows_pass_whatever_their_text(text, at):
    rows = _rows(text, text, at)
    assert all(chain.columns_match(row) for row in rows)
    assert chain.check_chain(rows) is None


@pytest.mark.parametrize("text", ODD_TEXT)
@pytest.mark.parametrize(
    "column, value",
    [
        (4, "user:someone-else"),
        (5, "custody.item.released"),
        (6, "parcel"),
        (7, "MW-0000"),
        (8, "2026-03-02 09:00:01"),
        (8, "2026-03-02T09:00:00"),
        (8, "2026-03-02 09:00:00 "),
        (8, '2026-03-02 09:00:00"'),
        (8, "2026-03-02 09:00:00+00:00"),
    ],
)
def test_the_walk_judges_an_edited_column_as_columns_match_does(text, column, value):
    rows = _rows(text, text, TIMES[0])
    edited = list(rows[1])
    edited[column] = value
    rows[1] = tuple(edited)  # type: ignore[assignment]
    try:
        matches = chain.columns_match(rows[1])
    except ValueError as exc:
        # A stored time that is no time at all stops the check, walk or not.
        with pytest.raises(type(exc)):
            chain.check_chain(rows)
        return
    problem = chain.check_chain(rows)
    if matches:
        # The same instant spelt another way (an ISO "T", an explicit offset).
        assert column == 8 and problem is None
    else:
        assert problem is not None and (problem.seq, problem.kind) == (2, "changed")


@pytest.mark.parametrize("column", [4, 5, 6, 7])
@pytest.mark.parametrize("text", ODD_TEXT)
def test_any_other_text_in_a_column_is_named(text, column):
    rows = _rows(text, text, TIMES[1])
    edited = list(rows[2])
    edited[column] = f"{edited[column]}x"
    rows[2] = tuple(edited)  # type: ignore[assignment]
    problem = chain.check_chain(rows)
    assert problem is not None and (problem.seq, problem.kind) == (3, "changed")


def test_a_stored_time_with_a_zero_fraction_still_matches():
    rows = _rows("clerk", "MW-1", TIMES[0])
    rows = [(*row[:8], f"{row[8]}.000000") for row in rows]
    assert chain.check_chain(rows) is None


def test_a_time_read_as_a_datetime_still_matches():
    rows = _rows("clerk", "MW-1", TIMES[1])
    rows = [(*row[:8], TIMES[1]) for row in rows]
    assert chain.check_chain(rows) is None
