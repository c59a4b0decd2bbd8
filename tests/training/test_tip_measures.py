"""The statistical check of the TIP measures: simulated screeners of known sensitivity.

Each simulated screener answers by equal-variance Gaussian signal detection: a clean image gives
an impression drawn from N(−d′/2, 1), a threat image one from N(+d′/2, 1), and the screener says
"threat" above their criterion c. With 1500 images of each kind the standard error of d′ is at
most about 0.07 over the grid below, so the tolerance of 0.25 is over three standard errors.
The draws are seeded: the test gives the same answer on every run.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy.stats import norm

from mailwarden.training.measures import Measures
from mailwarden.training.models import TipMode, TipOutcome, TipTrial
from mailwarden.training.queries.tip import screener_measures
from tests.training import conftest_c

SENSITIVITIES = (0.5, 1.5, 2.5)
CRITERIA = (-0.5, 0.0, 0.5)
TRIALS = 1500
TOLERANCE = 0.25

person = conftest_c.person  # a fixture


def simulated(dprime: float, criterion: float, n: int, seed: int) -> Measures:
    rng = np.random.default_rng(seed)
    signal = rng.normal(dprime / 2, 1.0, n)
    noise = rng.normal(-dprime / 2, 1.0, n)
    return Measures(
        signal_trials=n,
        noise_trials=n,
        hits=int((signal > criterion).sum()),
        false_alarms=int((noise > criterion).sum()),
    )


@pytest.mark.parametrize("dprime", SENSITIVITIES)
@pytest.mark.parametrize("criterion", CRITERIA)
def test_dprime_and_criterion_of_simulated_screeners_are_recovered(
    dprime: float, criterion: float
) -> None:
    seed = int(dprime * 100 + criterion * 10 + 1000)
    m = simulated(dprime, criterion, TRIALS, seed)
    assert m.dprime is not None and m.criterion is not None and m.a_prime is not None
    assert abs(m.dprime - dprime) < TOLERANCE
    assert abs(m.criterion - criterion) < TOLERANCE
    # A′ orders screeners as d′ does and stays between chance and perfect.
    assert 0.5 < m.a_prime < 1.0


def test_recovery_holds_across_many_seeds() -> None:
    """Not one lucky seed: over 40 simulated screeners at d′ = 1.5 the estimates centre on the
    truth and nearly all fall within the tolerance."""
    estimates = [simulated(1.5, 0.25, TRIALS, seed).dprime for seed in range(40)]
    values = np.array([e for e in estimates if e is not None])
    assert values.size == 40
    assert abs(values.mean() - 1.5) < 0.05
    assert (np.abs(values - 1.5) < TOLERANCE).mean() >= 0.95


def test_a_more_sensitive_screener_measures_higher() -> None:
    low, mid, high = (simulated(d, 0.0, 200, 5).dprime for d in SENSITIVITIES)
    assert low is not None and mid is not None and high is not None
    assert low < mid < high


@pytest.mark.parametrize(
    ("hits", "false_alarms"),
    [(40, 0), (0, 40), (40, 40), (0, 0)],
    ids=["H1F0", "H0F1", "H1F1", "H0F0"],
)
def test_rates_of_zero_and_one_give_finite_values(hits: int, false_alarms: int) -> None:
    m = Measures(signal_trials=40, noise_trials=40, hits=hits, false_alarms=false_alarms)
    assert m.dprime is not None and math.isfinite(m.dprime)
    assert m.criterion is not None and math.isfinite(m.criterion)
    assert m.a_prime is not None and 0.0 <= m.a_prime <= 1.0
    # The log-linear correction: (40 + 0.5) / 41 and 0.5 / 41.
    top, bottom = norm.ppf(40.5 / 41), norm.ppf(0.5 / 41)
    expected = {(40, 0): top - bottom, (0, 40): bottom - top}.get((hits, false_alarms), 0.0)
    assert m.dprime == pytest.approx(expected)


def test_no_trials_gives_no_measure_and_no_division() -> None:
    for m in (
        Measures(0, 0, 0, 0),
        Measures(signal_trials=10, noise_trials=0, hits=7, false_alarms=0),
        Measures(signal_trials=0, noise_trials=10, hits=0, false_alarms=3),
    ):
        assert m.dprime is None and m.criterion is None
    empty = Measures(0, 0, 0, 0)
    assert empty.trials == 0 and empty.hit_rate is None and empty.false_alarm_rate is None
    assert empty.a_prime is None


def _record(user_id: int, outcomes: list[str], start: datetime) -> None:
    # Answered trials stand in here for what the TIP service records: the query is under test.
    TipTrial.objects.bulk_create(
        TipTrial(
            user_id=user_id,
            mode=TipMode.TRAINING,
            category="knife" if o in (TipOutcome.HIT, TipOutcome.MISS) else "",
            background="simulated",
            image_sha256="0" * 64,
            width=512,
            height=384,
            presented_at=start + timedelta(minutes=i),
            answered_at=start + timedelta(minutes=i),
            response="threat" if o in (TipOutcome.HIT, TipOutcome.FALSE_ALARM) else "clear",
            outcome=o,
        )
        for i, o in enumerate(outcomes)
    )


@pytest.mark.django_db
def test_screener_measures_recover_a_simulated_screeners_dprime(person) -> None:
    screener = person("screener", "sim-screener")
    m = simulated(2.0, 0.3, 800, 77)
    outcomes = (
        [TipOutcome.HIT] * m.hits
        + [TipOutcome.MISS] * (m.signal_trials - m.hits)
        + [TipOutcome.FALSE_ALARM] * m.false_alarms
        + [TipOutcome.CORRECT_REJECTION] * (m.noise_trials - m.false_alarms)
    )
    order = np.random.default_rng(1).permutation(len(outcomes))
    _record(screener.pk, [outcomes[i] for i in order], datetime(2026, 1, 5, tzinfo=UTC))
    measured = screener_measures(screener.pk)
    assert measured == m
    assert measured.dprime is not None and abs(measured.dprime - 2.0) < TOLERANCE
    # The knife's own measures use its threat images and every clean one.
    assert screener_measures(screener.pk, category="knife") == m
    assert screener_measures(screener.pk, category="gun").signal_trials == 0
    assert screener_measures(screener.pk, category="gun").dprime is None


@pytest.mark.django_db
def test_a_screener_with_no_trials_has_no_dprime(person) -> None:
    screener = person("screener", "new-screener")
    m = screener_measures(screener.pk)
    assert m.trials == 0 and m.dprime is None and m.hit_rate is None
