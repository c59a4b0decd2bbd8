"""Signal detection measures of a screener's answers: hit and false-alarm rates, d′, c and A′.

Pure arithmetic (the standard library's normal quantile): no Django. A rate of 0 or 1 has no
finite z-score, so d′ and c use the log-linear correction (Hautus 1995): half a hit and half a
false alarm are added to every count, and one trial to each kind, whatever the counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

# scipy.stats would give the same quantile but costs most of a second to import in every process.
_Z = NormalDist().inv_cdf


@dataclass(frozen=True)
class Measures:
    """What a screener's answers on signal (threat) and noise (clean) images say."""

    signal_trials: int
    noise_trials: int
    hits: int
    false_alarms: int

    @property
    def trials(self) -> int:
        return self.signal_trials + self.noise_trials

    @property
    def hit_rate(self) -> float | None:
        return self.hits / self.signal_trials if self.signal_trials else None

    @property
    def false_alarm_rate(self) -> float | None:
        return self.false_alarms / self.noise_trials if self.noise_trials else None

    def _corrected(self) -> tuple[float, float] | None:
        if not self.signal_trials or not self.noise_trials:
            return None
        h = (self.hits + 0.5) / (self.signal_trials + 1)
        f = (self.false_alarms + 0.5) / (self.noise_trials + 1)
        return h, f

    @property
    def dprime(self) -> float | None:
        """d′ = z(H) − z(F) on the corrected rates; None without both kinds of trial."""
        rates = self._corrected()
        if rates is None:
            return None
        h, f = rates
        return float(_Z(h) - _Z(f))

    @property
    def criterion(self) -> float | None:
        """c = −(z(H) + z(F)) / 2: above 0 the screener holds back, below 0 they flag freely."""
        rates = self._corrected()
        if rates is None:
            return None
        h, f = rates
        return float(-(_Z(h) + _Z(f)) / 2)

    @property
    def a_prime(self) -> float | None:
        """A′, the non-parametric sensitivity (0.5 is chance, 1 is perfect), on the raw rates."""
        h, f = self.hit_rate, self.false_alarm_rate
        if h is None or f is None:
            return None
        if h == f:
            return 0.5
        if h > f:
            return 0.5 + ((h - f) * (1 + h - f)) / (4 * h * (1 - f))
        return 0.5 - ((f - h) * (1 + f - h)) / (4 * f * (1 - h))
