"""Fuzzy recipient matching: typos, nicknames, initials, name order, mail stops and emails."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwarden.custody.matching import (
    MIN_SCORE,
    NICKNAMES,
    Candidate,
    RecipientIndex,
    equivalent_names,
)

PEOPLE = [
    Candidate(
        1, "John", "Smith", department="Finance", mail_stop="B4-217", email="john.smith@example.org"
    ),
    Candidate(
        2, "Jon", "Smyth", department="Legal", mail_stop="B4-219", email="jon.smyth@example.org"
    ),
    Candidate(
        3,
        "Joan",
        "Smith",
        department="Facilities",
        mail_stop="A1-004",
        email="joan.smith@example.org",
    ),
    Candidate(4, "Johnny", "Smithers", mail_stop="C2-110", email="jsmithers@example.org"),
    Candidate(5, "Jane", "Smith", mail_stop="C2-111", email="jane.smith@example.org"),
    Candidate(6, "Robert", "Jones", mail_stop="D1-001", email="robert.jones@example.org"),
    Candidate(7, "Roberta", "Jonas", mail_stop="D1-002", email="roberta.jonas@example.org"),
    Candidate(8, "Bob", "Jenkins", mail_stop="D1-003", email="bob.jenkins@example.org"),
    Candidate(9, "William", "Turner", mail_stop="E3-300", email="william.turner@example.org"),
    Candidate(10, "Willa", "Tanner", mail_stop="E3-301", email="willa.tanner@example.org"),
    Candidate(11, "Elizabeth", "Clarke", mail_stop="F2-020", email="elizabeth.clarke@example.org"),
    Candidate(
        12, "Eliza", "Clark", preferred_name="Ellie", mail_stop="F2-021", email="eclark@example.org"
    ),
    Candidate(
        13,
        "Katherine",
        "O'Connell-Whitfield",
        department="Procurement",
        mail_stop="G1-117",
        email="k.oconnell@example.org",
    ),
    Candidate(
        14, "Kathleen", "Whitfield", mail_stop="G1-118", email="kathleen.whitfield@example.org"
    ),
    Candidate(15, "James", "Okafor", mail_stop="H4-401", email="james.okafor@example.org"),
    Candidate(16, "Jamal", "Okoro", mail_stop="H4-402", email="jamal.okoro@example.org"),
    Candidate(17, "Michael", "Brown", mail_stop="J1-010", email="michael.brown@example.org"),
    Candidate(18, "Michelle", "Browne", mail_stop="J1-011", email="michelle.browne@example.org"),
    Candidate(19, "Richard", "Hughes", mail_stop="K2-220", email="richard.hughes@example.org"),
    Candidate(20, "Rachel", "Hughes", mail_stop="K2-221", email="rachel.hughes@example.org"),
    Candidate(21, "Margaret", "Lee", mail_stop="L3-333", email="margaret.lee@example.org"),
    Candidate(22, "Megan", "Leigh", mail_stop="L3-334", email="megan.leigh@example.org"),
    Candidate(23, "Anthony", "Garcia", mail_stop="M1-101", email="anthony.garcia@example.org"),
    Candidate(24, "Antonia", "Garza", mail_stop="M1-102", email="antonia.garza@example.org"),
    Candidate(
        25, "Christopher", "Nguyen", mail_stop="N2-202", email="christopher.nguyen@example.org"
    ),
    Candidate(26, "Christine", "Nguyen", mail_stop="N2-203", email="christine.nguyen@example.org"),
    Candidate(27, "David", "Martin", mail_stop="P1-011", email="david.martin@example.org"),
    Candidate(28, "Davina", "Martins", mail_stop="P1-012", email="davina.martins@example.org"),
    Candidate(29, "Stephen", "Wright", mail_stop="Q2-020", email="stephen.wright@example.org"),
    Candidate(30, "Stefan", "White", mail_stop="Q2-021", email="stefan.white@example.org"),
    Candidate(31, "Susan", "Patel", mail_stop="R3-030", email="susan.patel@example.org"),
    Candidate(32, "Suresh", "Patil", mail_stop="R3-031", email="suresh.patil@example.org"),
    Candidate(33, "Thomas", "Müller", mail_stop="S1-040", email="thomas.mueller@example.org"),
    Candidate(34, "Tomasz", "Mueller", mail_stop="S1-041", email="tomasz.mueller@example.org"),
    Candidate(35, "Peggy", "Olsen", mail_stop="T2-050", email="polsen@example.org"),
    Candidate(36, "Margarita", "Olson", mail_stop="T2-051", email="margarita.olson@example.org"),
    Candidate(37, "Dick", "Fletcher", mail_stop="U3-060", email="dfletcher@example.org"),
    Candidate(38, "Kenji", "Tanaka", mail_stop="V1-070", email="kenji.tanaka@example.org"),
    Candidate(39, "Kenneth", "Tanner", mail_stop="V1-071", email="ken.tanner@example.org"),
    Candidate(40, "Amara", "Diallo", mail_stop="W2-080", email="amara.diallo@example.org"),
    Candidate(41, "Amir", "Dalal", mail_stop="W2-081", email="amir.dalal@example.org"),
    Candidate(
        42, "Siobhan", "Ní Bhriain", mail_stop="X3-090", email="siobhan.nibhriain@example.org"
    ),
    Candidate(43, "Lucía", "Fernández", mail_stop="Y1-100", email="lucia.fernandez@example.org"),
    Candidate(44, "Lucas", "Fernandes", mail_stop="Y1-101", email="lucas.fernandes@example.org"),
    Candidate(45, "Priya", "Raman", mail_stop="Z2-110", email="priya.raman@example.org"),
    Candidate(46, "Pia", "Rahman", mail_stop="Z2-111", email="pia.rahman@example.org"),
    Candidate(47, "Hans", "van der Berg", mail_stop="AA-120", email="hans.vanderberg@example.org"),
    Candidate(48, "Hannah", "Berg", mail_stop="AA-121", email="hannah.berg@example.org"),
    Candidate(49, "Olusegun", "Adeyemi", mail_stop="AB-130", email="segun.adeyemi@example.org"),
    Candidate(50, "Grace", "Kim", mail_stop="AB-131", email="grace.kim@example.org"),
    Candidate(51, "Gregory", "Kimball", mail_stop="AB-132", email="greg.kimball@example.org"),
]

INDEX = RecipientIndex(PEOPLE)
BY_ID = {person.id: person for person in PEOPLE}


def _top(query: str, **kwargs) -> list[tuple[int, float]]:
    return [(m.candidate.id, m.score) for m in INDEX.match(query, **kwargs)]


def _best_id(query: str) -> int:
    found = INDEX.match(query)
    assert found, f"nothing matched {query!r}"
    return found[0].candidate.id


@pytest.mark.parametrize("person", PEOPLE, ids=lambda p: f"{p.first_name} {p.last_name}")
def test_full_name_finds_the_person_with_full_score(person):
    found = INDEX.match(f"{person.first_name} {person.last_name}")
    assert found[0].candidate == person
    assert found[0].score == 100.0
    assert len(found) == 1 or found[1].score < 100.0


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Jonh Smiht", 1),
        ("Jon Smyth", 2),
        ("Joan Smith", 3),
        ("Micheal Borwn", 17),
        ("jamess okafor", 15),
        ("Robret Jnoes", 6),
        ("Lucas Fernandez", 44),
        ("Pia Raman", 46),
    ],
)
def test_typos_and_near_collisions(query, expected):
    assert _best_id(query) == expected


def test_one_slip_in_each_name_still_clears_the_threshold():
    (best, score), (_, runner_up) = _top("Jonh Smiht", limit=2, min_score=0)
    assert best == 1
    assert score >= MIN_SCORE
    assert score - runner_up >= 5


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Bob Jones", 6),  # nickname for a formal first name
        ("Bill Turner", 9),
        ("Liz Clarke", 11),
        ("Jim Okafor", 15),
        ("Mike Brown", 17),
        ("Dick Hughes", 19),
        ("Peggy Lee", 21),
        ("Tony Garcia", 23),
        ("Dave Martin", 27),
        ("Steve Wright", 29),
        ("Sue Patel", 31),
        ("Tom Muller", 33),
        ("Margaret Olsen", 35),  # formal name for a candidate filed under the nickname
        ("Richard Fletcher", 37),
        ("Ken Tanner", 39),
        ("Greg Kimball", 51),
        ("Kate Whitfield", 13),
    ],
)
def test_nicknames_in_both_directions(query, expected):
    assert _best_id(query) == expected


def test_a_nickname_ranks_below_the_name_itself():
    robert = INDEX.match("Robert Jones")[0]
    bob = INDEX.match("Bob Jones")[0]
    assert robert.candidate == bob.candidate
    assert bob.score < robert.score


def test_preferred_name():
    assert _top("Ellie Clark")[0] == (12, 100.0)


def test_nickname_table_is_symmetric_and_large_enough():
    pairs = set()
    for group in NICKNAMES:
        for name in group:
            for other in equivalent_names(name):
                assert name in equivalent_names(other), (name, other)
                pairs.add(frozenset((name, other)))
    assert len(pairs) >= 40
    assert {"robert", "bob"} <= equivalent_names("bobby")
    assert "bob" in equivalent_names("Robert")
    assert "robert" in equivalent_names("BOB")


def test_shared_nickname_does_not_join_its_groups():
    assert {"patricia", "patrick"} <= equivalent_names("pat")
    assert "patrick" not in equivalent_names("patricia")


@pytest.mark.parametrize("query", ["J Smith", "J. Smith", "Smith, J.", "j smith"])
def test_initial_and_family_name(query):
    found = INDEX.match(query)
    smiths = {1, 3, 5}  # John, Joan and Jane Smith
    assert {m.candidate.id for m in found[:3]} == smiths
    assert len({m.score for m in found[:3]}) == 1
    assert all(m.score < found[0].score for m in found[3:])


def test_equal_scores_are_ordered_by_name():
    assert [m.candidate.first_name for m in INDEX.match("J Smith")[:3]] == ["Jane", "Joan", "John"]


def test_initial_picks_out_the_only_person_it_fits():
    assert _best_id("K. O'Connell") == 13
    assert _best_id("R Hughes") in {19, 20}
    assert _best_id("M Brown") == 17


def test_monogram_alone():
    found = INDEX.match("JS", limit=10)
    # John, Joan, Jane Smith, Jon Smyth and Johnny Smithers are all "JS".
    assert {m.candidate.id for m in found} == {1, 2, 3, 4, 5}
    assert all(m.score >= MIN_SCORE for m in found)


@pytest.mark.parametrize("query", ["Smith, John", "smith,john", "SMITH , JOHN"])
def test_family_name_first_with_comma(query):
    assert _top(query)[0] == (1, 100.0)


def test_family_name_first_without_comma_costs_a_little():
    (best, score), (_, runner_up) = _top("Smith John", limit=2)
    assert best == 1
    assert runner_up < score < 100.0


def test_multi_word_family_names():
    assert _top("van der Berg, Hans")[0] == (47, 100.0)
    assert _best_id("Hans Berg") == 47
    assert _best_id("Hannah Berg") == 48
    assert _best_id("O'Connell-Whitfield") == 13
    assert _best_id("Whitfield") == 14


def test_accents_and_apostrophes_are_ignored():
    assert _top("Lucia Fernandez")[0] == (43, 100.0)
    assert _top("Siobhan Ni Bhriain")[0] == (42, 100.0)
    assert _top("Katherine OConnell Whitfield")[0] == (13, 100.0)


@pytest.mark.parametrize(
    ("query", "expected"),
    [("B4-217", 1), ("b4 217", 1), ("B4217", 1), ("H4-401", 15), ("aa-121", 48)],
)
def test_mail_stop_alone(query, expected):
    assert _top(query)[0] == (expected, 100.0)


def test_mail_stop_typo_is_only_a_suggestion():
    best, score = _top("B4-218", min_score=0)[0]
    assert best in {1, 2}
    assert score < 100.0


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("john.smith@example.org", 1),
        ("JOHN.SMITH@EXAMPLE.ORG", 1),
        ("john.smith", 1),
        ("jsmithers", 4),
        ("eclark", 12),
        ("polsen", 35),
        ("dfletcher@example.org", 37),
    ],
)
def test_email_or_its_local_part(query, expected):
    assert _top(query)[0] == (expected, 100.0)


@pytest.mark.parametrize("query", ["Xylophone Quartz", "Zebediah Quackenbush", "qqq", "12345"])
def test_unrelated_query_scores_below_the_threshold(query):
    assert INDEX.match(query) == []
    everything = INDEX.match(query, limit=100, min_score=0)
    assert everything
    assert everything[0].score < MIN_SCORE


def test_a_known_given_name_with_an_unknown_family_name_suggests_nobody():
    assert INDEX.match("John Xyzzy") == []


@pytest.mark.parametrize("query", ["", "   ", ",", "..."])
def test_empty_query_matches_nobody(query):
    assert INDEX.match(query, min_score=0) == []


def test_limit():
    assert len(INDEX.match("Smith", limit=2, min_score=0)) == 2
    assert len(INDEX.match("Smith", limit=100, min_score=0)) == len(PEOPLE)
    with pytest.raises(ValueError, match="limit: must be positive"):
        INDEX.match("Smith", limit=0)


def test_empty_index_and_empty_names():
    assert RecipientIndex([]).match("John Smith") == []
    odd = RecipientIndex([Candidate(1, "", ""), Candidate(2, "Cher", "")])
    assert len(odd) == 2
    assert [m.candidate.id for m in odd.match("Cher")] == [2]


def test_names_outside_the_latin_alphabet():
    index = RecipientIndex(
        [
            Candidate(1, "Дмитрий", "Иванов"),
            Candidate(2, "Дарья", "Иванова"),
            Candidate(3, "伟", "王"),
            Candidate(4, "Σοφία", "Παπαδοπούλου"),
        ]
    )
    assert index.match("Дмитрий Иванов")[0].candidate.id == 1
    assert index.match("Иванова, Дарья")[0].candidate.id == 2
    assert index.match("王 伟")[0].candidate.id == 3
    assert index.match("Σοφια Παπαδοπουλου")[0].candidate.id == 4


@given(st.text(max_size=40))
def test_any_query_gives_ranked_scores_in_range(query):
    found = INDEX.match(query, limit=10, min_score=0)
    scores = [m.score for m in found]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 100.0 for s in scores)
