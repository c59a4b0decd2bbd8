"""The scoring methods: scores, levels, the heatmap cells, and refusals naming the field."""

from __future__ import annotations

import pytest

from mailwarden.risk.scoring import Level, MethodError, method


def test_the_three_methods_are_known_and_an_unknown_one_is_refused():
    assert {method(s).slug for s in ("matrix", "fema452", "carver")} == {
        "matrix",
        "fema452",
        "carver",
    }
    with pytest.raises(MethodError) as err:
        method("octave")
    assert err.value.field == "method"
    assert "carver" in err.value.message


# ----------------------------------------------------------------------------- matrix


def test_the_matrix_defaults_to_five_by_five_and_multiplies():
    m = method("matrix")
    assert m.axes == (("Likelihood", 5), ("Impact", 5))
    assert [f.key for f in m.factors] == ["likelihood", "impact"]
    assert m.score({"likelihood": 4, "impact": 3}) == 12
    assert m.normalised(25) == 1.0


@pytest.mark.parametrize(
    ("likelihood", "impact", "level"),
    [
        (1, 1, Level.LOW),
        (1, 5, Level.LOW),
        (2, 3, Level.MEDIUM),
        (2, 5, Level.MEDIUM),
        (3, 4, Level.HIGH),
        (4, 4, Level.HIGH),
        (4, 5, Level.CRITICAL),
        (5, 5, Level.CRITICAL),
    ],
)
def test_matrix_levels_follow_the_share_of_the_largest_score(likelihood, impact, level):
    m = method("matrix", {"size": 5})
    assert m.level(m.score({"likelihood": likelihood, "impact": impact})) == level


def test_a_larger_matrix_rates_by_share_too():
    m = method("matrix", {"size": 10})
    assert m.axes == (("Likelihood", 10), ("Impact", 10))
    assert m.level(20) == Level.LOW
    assert m.level(21) == Level.MEDIUM
    assert m.level(100) == Level.CRITICAL
    assert m.cell({"likelihood": 10, "impact": 1}) == (9, 0)


@pytest.mark.parametrize("size", [2, 11, "5", True, 4.0])
def test_a_bad_matrix_size_is_refused_naming_size(size):
    with pytest.raises(MethodError) as err:
        method("matrix", {"size": size})
    assert err.value.field == "size"


def test_the_matrix_refuses_other_parameters():
    with pytest.raises(MethodError) as err:
        method("matrix", {"colour": "red"})
    assert err.value.field == "colour"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"likelihood": 3}, "impact"),
        ({"likelihood": 0, "impact": 3}, "likelihood"),
        ({"likelihood": 3, "impact": 6}, "impact"),
        ({"likelihood": True, "impact": 3}, "likelihood"),
        ({"likelihood": 2.5, "impact": 3}, "likelihood"),
        ({"likelihood": 3, "impact": 3, "threat": 2}, "threat"),
    ],
)
def test_bad_factor_values_name_the_factor(values, field):
    with pytest.raises(MethodError) as err:
        method("matrix").score(values)
    assert err.value.field == field


# ----------------------------------------------------------------------------- FEMA 452


@pytest.mark.parametrize(
    ("t", "v", "c", "score", "level"),
    [
        (1, 1, 1, 1, Level.LOW),
        (3, 4, 5, 60, Level.LOW),
        (1, 61, 1, None, None),
        (5, 5, 7, 175, Level.MEDIUM),
        (4, 4, 4, 64, Level.MEDIUM),
        (6, 6, 5, 180, Level.HIGH),
        (7, 7, 10, 490, Level.HIGH),
        (8, 8, 8, 512, Level.CRITICAL),
        (10, 10, 10, 1000, Level.CRITICAL),
    ],
)
def test_fema452_multiplies_and_rates_as_fema_does(t, v, c, score, level):
    m = method("fema452")
    values = {"threat": t, "vulnerability": v, "consequence": c}
    if score is None:
        with pytest.raises(MethodError) as err:
            m.score(values)
        assert err.value.field == "vulnerability"
        return
    assert m.score(values) == score
    assert m.level(m.score(values)) == level


def test_fema452_heatmap_sets_threat_against_vulnerability_times_consequence():
    m = method("fema452")
    assert m.axes == (("Threat", 10), ("Vulnerability x consequence", 10))
    assert m.cell({"threat": 1, "vulnerability": 1, "consequence": 1}) == (0, 0)
    assert m.cell({"threat": 10, "vulnerability": 10, "consequence": 10}) == (9, 9)
    assert m.cell({"threat": 4, "vulnerability": 5, "consequence": 4}) == (3, 1)
    assert m.normalised(500) == 0.5


def test_fema452_takes_no_parameters():
    with pytest.raises(MethodError) as err:
        method("fema452", {"size": 5})
    assert err.value.field == "size"


# ----------------------------------------------------------------------------- CARVER

CARVER_KEYS = (
    "criticality",
    "accessibility",
    "recuperability",
    "vulnerability",
    "effect",
    "recognisability",
)


def _carver(*ratings: int) -> dict[str, int]:
    return dict(zip(CARVER_KEYS, ratings, strict=True))


@pytest.mark.parametrize(
    ("ratings", "score", "level"),
    [
        ((1, 1, 1, 1, 1, 1), 6, Level.LOW),
        ((4, 4, 4, 4, 4, 4), 24, Level.LOW),
        ((5, 4, 4, 4, 4, 4), 25, Level.MEDIUM),
        ((6, 6, 6, 6, 6, 6), 36, Level.MEDIUM),
        ((8, 8, 8, 8, 8, 8), 48, Level.HIGH),
        ((9, 8, 8, 8, 8, 8), 49, Level.CRITICAL),
        ((10, 10, 10, 10, 10, 10), 60, Level.CRITICAL),
    ],
)
def test_carver_sums_six_factors(ratings, score, level):
    m = method("carver")
    assert [f.key for f in m.factors] == list(CARVER_KEYS)
    assert m.score(_carver(*ratings)) == score
    assert m.level(score) == level


def test_carver_heatmap_sets_consequence_against_exposure():
    m = method("carver")
    assert m.cell(_carver(1, 1, 1, 1, 1, 1)) == (0, 0)
    assert m.cell(_carver(10, 10, 10, 10, 10, 10)) == (9, 9)
    # consequence 10+10+10 = 30, exposure 1+1+1 = 3
    assert m.cell(_carver(10, 1, 10, 1, 10, 1)) == (9, 0)
    assert m.normalised(60) == 1.0


def test_carver_needs_every_factor():
    values = _carver(5, 5, 5, 5, 5, 5)
    del values["effect"]
    with pytest.raises(MethodError) as err:
        method("carver").score(values)
    assert err.value.field == "effect"


@pytest.mark.parametrize("slug", ["matrix", "fema452", "carver"])
def test_every_level_a_method_gives_is_a_known_level_and_grows_with_the_score(slug):
    m = method(slug)
    top = max(f.high for f in m.factors)
    low = m.score({f.key: f.low for f in m.factors})
    high = m.score({f.key: top for f in m.factors})
    assert m.level(low) == Level.LOW
    assert m.level(high) == Level.CRITICAL
    assert 0 < m.normalised(low) < m.normalised(high) == 1.0
