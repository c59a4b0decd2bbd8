"""Scores a video's events against hand labels: precision and recall of events, and the count of
person tracks against the people labelled.

A labels file::

    rules: rules.yaml        # beside the labels file, unless the command names one
    people: 2                # distinct people seen in the clip
    max_people: 2            # most people in view at once (optional)
    tolerance_s: 1.0         # how far from its labelled time an event may fire
    events:
      - {type: presence, zone: floor, time_s: 0.5}
      - {type: loitering, zone: floor, between: [2.0, 4.0]}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mailwarden.vision import config
from mailwarden.vision.rules import Event


class LabelledEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    zone: str
    time_s: float | None = None
    between: tuple[float, float] | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _when(self) -> LabelledEvent:
        if (self.time_s is None) == (self.between is None):
            raise ValueError("give either time_s or between")
        return self

    def window(self, tolerance: float) -> tuple[float, float]:
        lo, hi = self.between if self.between is not None else (self.time_s, self.time_s)
        assert lo is not None and hi is not None
        return lo - tolerance, hi + tolerance


class Labels(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    video: str | None = None
    rules: str | None = None
    people: int = Field(ge=0)
    max_people: int | None = Field(default=None, ge=0)
    tolerance_s: float = Field(default=1.0, ge=0)
    events: list[LabelledEvent] = Field(default_factory=list)
    notes: str | None = None


def load_labels(path: str | Path) -> Labels:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise config.RulesError(f"{path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise config.RulesError(f"{path}: not YAML: {exc}") from None
    try:
        return Labels.model_validate(data)
    except ValidationError as exc:
        raise config.RulesError(f"{path}: {config.describe(exc)}") from None


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    # None where nothing fired (precision) or nothing was labelled (recall): there is no share.
    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def to_json(self) -> dict[str, Any]:
        p, r = self.precision, self.recall
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": None if p is None else round(p, 3),
            "recall": None if r is None else round(r, 3),
        }


@dataclass
class Result:
    overall: Score
    by_type: dict[str, Score]
    people_labelled: int
    person_tracks: int
    max_people_labelled: int | None
    max_people: int
    missed: list[LabelledEvent] = field(default_factory=list)
    extra: list[Event] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "events": self.overall.to_json(),
            "by_type": {k: v.to_json() for k, v in sorted(self.by_type.items())},
            "people": {"labelled": self.people_labelled, "person_tracks": self.person_tracks},
            "max_people": {"labelled": self.max_people_labelled, "seen": self.max_people},
            "missed": [m.model_dump(exclude_none=True) for m in self.missed],
            "unexpected": [e.to_json() for e in self.extra],
        }


def score(labels: Labels, events: list[Event], summary: dict[str, Any]) -> Result:
    """Each labelled event takes at most one fired event of its type and zone inside its window;
    fired events left over are false positives."""
    free = list(events)
    by_type: dict[str, Score] = {}
    missed: list[LabelledEvent] = []
    for want in labels.events:
        lo, hi = want.window(labels.tolerance_s)
        fits = [
            e for e in free if e.type == want.type and e.zone == want.zone and lo <= e.time_s <= hi
        ]
        s = by_type.setdefault(want.type, Score())
        if fits:
            mid = (lo + hi) / 2
            best = min(fits, key=lambda e: abs(e.time_s - mid))
            free.remove(best)
            s.tp += 1
        else:
            s.fn += 1
            missed.append(want)
    for e in free:
        by_type.setdefault(e.type, Score()).fp += 1
    overall = Score(
        sum(s.tp for s in by_type.values()),
        sum(s.fp for s in by_type.values()),
        sum(s.fn for s in by_type.values()),
    )
    return Result(
        overall,
        by_type,
        labels.people,
        int(summary.get("person_tracks", 0)),
        labels.max_people,
        int(summary.get("max_people", 0)),
        missed,
        free,
    )
