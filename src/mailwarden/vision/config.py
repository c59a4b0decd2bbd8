"""The rules file: zones, door lines, their rules and the analysis settings, as pydantic models
that refuse unknown keys, so a misspelt rule is an error that names it rather than a rule that
silently never fires."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Point = tuple[float, float]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Presence(Strict):
    """A person enters the zone (once per person track)."""

    type: Literal["presence"]


class Loitering(Strict):
    type: Literal["loitering"]
    seconds: float = Field(gt=0)


class Window(Strict):
    days: list[Day] = Field(default_factory=lambda: list(WEEKDAYS))
    start: dt.time
    end: dt.time


class AfterHours(Strict):
    """A person in the zone outside every window of the schedule."""

    type: Literal["after_hours"]
    schedule: list[Window] = Field(min_length=1)

    def open_at(self, when: dt.datetime) -> bool:
        day = DAYS[when.weekday()]
        clock = when.time()
        for window in self.schedule:
            if day in window.days and window.start <= clock < window.end:
                return True
        return False


class Unattended(Strict):
    type: Literal["unattended"]
    seconds: float = Field(gt=0)
    # Pixels of the video between the object's box and the nearest person's box.
    distance: float = Field(default=100.0, ge=0)


class Crowding(Strict):
    type: Literal["crowding"]
    max_people: int = Field(ge=0)


ZoneRule = Annotated[
    Presence | Loitering | AfterHours | Unattended | Crowding, Field(discriminator="type")
]


class Zone(Strict):
    name: str = Field(min_length=1)
    # A polygon in the video's pixels, or "full" for the whole frame.
    area: Literal["full"] | list[Point] = "full"
    rules: list[ZoneRule] = Field(default_factory=list)

    @field_validator("area")
    @classmethod
    def _polygon(cls, value: Literal["full"] | list[Point]) -> Literal["full"] | list[Point]:
        if value != "full" and len(value) < 3:
            raise ValueError("a polygon needs at least 3 points")
        return value


class LineCrossing(Strict):
    """Every crossing, with its direction."""

    type: Literal["line_crossing"]


class Tailgating(Strict):
    """More entry crossings than badge grants on this door within the window."""

    type: Literal["tailgating"]
    window: float = Field(default=10.0, gt=0)


LineRule = Annotated[LineCrossing | Tailgating, Field(discriminator="type")]


class Line(Strict):
    name: str = Field(min_length=1)
    points: tuple[Point, Point]
    # Which side of the line, looking from its first point to its second, is inside: a crossing
    # towards it is an entry.
    inside: Literal["left", "right"] = "left"
    rules: list[LineRule] = Field(default_factory=list)


class Analysis(Strict):
    # Analysed frames per second; None analyses every frame of the source.
    fps: float | None = Field(default=5.0, gt=0)
    motion_gating: bool = True
    # The motion gate's frame; any aspect is kept by its width.
    gate_width: int = Field(default=160, ge=32)
    # Share of the gate's pixels that must change for the frame to be analysed.
    motion_fraction: float = Field(default=0.002, ge=0, le=1)
    # Width of the frame on which candidates are found and tracked.
    work_width: int = Field(default=320, ge=64)
    # Smallest candidate, as a share of the frame's area, and a person's smallest height as a
    # share of the frame's height.
    min_area: float = Field(default=0.0015, gt=0, lt=1)
    min_person_height: float = Field(default=0.08, gt=0, lt=1)
    # Seconds of history of the foreground model, and of the long- and short-term backgrounds
    # that find stationary objects.
    history_s: float = Field(default=30.0, gt=0)
    long_term_s: float = Field(default=300.0, gt=0)
    short_term_s: float = Field(default=1.5, gt=0)
    # A track ends after this long unseen.
    max_unseen_s: float = Field(default=1.5, gt=0)
    # "shape" trusts size, shape and motion alone; "hog" also asks OpenCV's people HOG about the
    # candidates that do not walk (a person standing still, or in a group that moves as one blob),
    # at most every ``hog_every_s`` seconds, on their regions only, searched as if the frame were
    # ``hog_height`` pixels tall (a person needs about a quarter of that to be found).
    verifier: Literal["shape", "hog"] = "hog"
    hog_every_s: float = Field(default=0.5, gt=0)
    hog_height: int = Field(default=400, ge=128)

    @model_validator(mode="after")
    def _sizes(self) -> Analysis:
        if self.gate_width > self.work_width:
            raise ValueError("gate_width must not exceed work_width")
        return self


class Evidence(Strict):
    pre_roll_s: float = Field(default=3.0, ge=0)
    post_roll_s: float = Field(default=3.0, ge=0)
    jpeg_quality: int = Field(default=85, ge=10, le=100)
    # Both play in browsers: H.264 in MP4 (also on phones and in every player), VP8 in WebM.
    clip_format: Literal["mp4", "webm"] = "mp4"


class Rules(Strict):
    zones: list[Zone] = Field(default_factory=list)
    lines: list[Line] = Field(default_factory=list)
    # Polygons in pixels that the worker ignores: a screen, a clock, a window onto the street.
    masks: list[list[Point]] = Field(default_factory=list)
    analysis: Analysis = Analysis()
    evidence: Evidence = Evidence()
    # Wall-clock time of the video's first frame, for after-hours rules on files.
    start_time: dt.datetime | None = None

    @field_validator("masks")
    @classmethod
    def _masks(cls, value: list[list[Point]]) -> list[list[Point]]:
        if any(len(polygon) < 3 for polygon in value):
            raise ValueError("a mask polygon needs at least 3 points")
        return value

    @model_validator(mode="after")
    def _unique(self) -> Rules:
        names = [z.name for z in self.zones] + [line.name for line in self.lines]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"zone and line names must be unique: {', '.join(doubled)}")
        return self


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the field and the reason."""


def describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(file)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def parse_rules(data: object) -> Rules:
    try:
        return Rules.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise RulesError(describe(exc)) from None


def load_rules(path: str | Path) -> Rules:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise RulesError(f"{path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RulesError(f"{path}: not YAML: {exc}") from None
    return parse_rules(data)
