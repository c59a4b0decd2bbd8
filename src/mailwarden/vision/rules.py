"""Zone and door-line rules, evaluated on each analysed frame from the person tracks and the
stationary objects. Coordinates here are the video's pixels."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mailwarden.vision import config
from mailwarden.vision.track import Box, gap

CALM_S = 3.0  # seconds at or under the limit before a crowd is over
LEAVE_GRACE_S = 1.5  # seconds out of a zone before a person's dwell there starts again


@dataclass(frozen=True)
class Grant:
    """A badge grant on a door (a line's name), at a time in the video's seconds."""

    line: str
    time_s: float


@dataclass
class Event:
    type: str
    zone: str
    frame: int
    time_s: float
    track: int | None
    bbox: Box
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "zone": self.zone,
            "frame": self.frame,
            "time_s": round(self.time_s, 3),
            "track": self.track,
            "bbox": [round(v) for v in self.bbox],
            **self.extra,
        }


@dataclass(frozen=True)
class Person:
    id: int
    box: Box
    first_t: float
    foot: tuple[float, float]
    # Where the track was first seen, so a crossing made before it was known as a person counts.
    origin: tuple[float, float]


@dataclass(frozen=True)
class StaticObject:
    id: int
    box: Box
    since: float


def inside(point: tuple[float, float], polygon: Sequence[tuple[float, float]]) -> bool:
    x, y = point
    found = False
    n = len(polygon)
    for i in range(n):
        x0, y0 = polygon[i]
        x1, y1 = polygon[(i + 1) % n]
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            found = not found
    return found


def _side(a: tuple[float, float], b: tuple[float, float], p: tuple[float, float]) -> float:
    return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])


def crossing(
    line: tuple[tuple[float, float], tuple[float, float]],
    before: tuple[float, float],
    after: tuple[float, float],
) -> float:
    """The side change of a step across the segment: >0 towards its left (image coordinates, y
    down: left looking from the first point to the second), <0 towards its right, 0 no crossing."""
    a, b = line
    s0, s1 = _side(a, b, before), _side(a, b, after)
    t0, t1 = _side(before, after, a), _side(before, after, b)
    if s0 * s1 < 0 and t0 * t1 <= 0:
        # y grows downwards, so a positive cross product is the right-hand side on screen.
        return -1.0 if s1 > 0 else 1.0
    return 0.0


def _union(boxes: Sequence[Box]) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


class RuleEngine:
    def __init__(
        self,
        rules: config.Rules,
        frame_size: tuple[int, int],
        grants: Sequence[Grant] = (),
        start_time: dt.datetime | None = None,
    ) -> None:
        self.rules = rules
        w, h = frame_size
        self.start_time = start_time or rules.start_time
        needs_clock = any(isinstance(r, config.AfterHours) for z in rules.zones for r in z.rules)
        if needs_clock and self.start_time is None:
            raise config.RulesError(
                "start_time: after_hours rules need the wall-clock time of the first frame"
            )
        self.polygons: dict[str, list[tuple[float, float]]] = {
            z.name: [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]
            if z.area == "full"
            else [(float(x), float(y)) for x, y in z.area]
            for z in rules.zones
        }
        self.grants = sorted(grants, key=lambda g: g.time_s)
        self.used_grants: set[int] = set()
        self.entered: dict[str, dict[int, float]] = defaultdict(dict)
        # The people counted on an earlier frame.
        self.known: set[int] = set()
        self.last_in: dict[str, dict[int, float]] = defaultdict(dict)
        self.fired: set[tuple[str, str, int]] = set()
        self.crowded: dict[str, bool] = defaultdict(bool)
        self.calm_since: dict[str, float] = {}
        self.alone_since: dict[tuple[str, int], float] = {}
        self.counts: dict[str, dict[str, int]] = {
            line.name: {"entries": 0, "exits": 0} for line in rules.lines
        }
        self.tailgating = 0
        # The last foot point of each person that stood clearly on one side of each line.
        self.prev_foot: dict[tuple[str, int], tuple[float, float]] = {}

    def zone_of(self, name: str) -> list[tuple[float, float]]:
        return self.polygons[name]

    def evaluate(
        self,
        frame: int,
        now: float,
        people: Sequence[Person],
        objects: Sequence[StaticObject],
    ) -> list[Event]:
        events: list[Event] = []
        for zone in self.rules.zones:
            poly = self.polygons[zone.name]
            here = [p for p in people if inside(p.foot, poly)]
            entered = self.entered[zone.name]
            last = self.last_in[zone.name]
            for p in here:
                if p.id not in entered:
                    # A track is often known as a person only some time after it began (once
                    # it has walked, or a detector has seen it); one that began in the zone has
                    # been there since then.
                    fresh = p.id not in self.known
                    entered[p.id] = p.first_t if fresh and inside(p.origin, poly) else now
                last[p.id] = now
            # A person missed for a moment (hidden, or merged with someone) has not left: the
            # dwell goes on unless they are away for longer than the grace.
            for gone in [i for i, t in last.items() if now - t > LEAVE_GRACE_S]:
                del last[gone]
                del entered[gone]
            for rule in zone.rules:
                events += self._zone_rule(zone.name, rule, frame, now, here, objects, people)
        for line in self.rules.lines:
            events += self._line(line, frame, now, people)
        self.known.update(p.id for p in people)
        return events

    def _once(self, kind: str, zone: str, ident: int) -> bool:
        key = (kind, zone, ident)
        if key in self.fired:
            return False
        self.fired.add(key)
        return True

    def _zone_rule(
        self,
        zone: str,
        rule: config.ZoneRule,
        frame: int,
        now: float,
        here: Sequence[Person],
        objects: Sequence[StaticObject],
        people: Sequence[Person],
    ) -> list[Event]:
        out: list[Event] = []
        extra: dict[str, Any]
        if isinstance(rule, config.Presence):
            for p in here:
                if self._once("presence", zone, p.id):
                    out.append(Event("presence", zone, frame, now, p.id, p.box))
        elif isinstance(rule, config.Loitering):
            for p in here:
                dwell = now - self.entered[zone][p.id]
                if dwell > rule.seconds and self._once("loitering", zone, p.id):
                    extra = {"dwell_s": round(dwell, 2)}
                    out.append(Event("loitering", zone, frame, now, p.id, p.box, extra))
        elif isinstance(rule, config.AfterHours):
            assert self.start_time is not None
            wall = self.start_time + dt.timedelta(seconds=now)
            if not rule.open_at(wall):
                for p in here:
                    if self._once("after_hours", zone, p.id):
                        extra = {"at": wall.isoformat()}
                        out.append(Event("after_hours", zone, frame, now, p.id, p.box, extra))
        elif isinstance(rule, config.Crowding):
            count = len(here)
            if count > rule.max_people:
                self.calm_since.pop(zone, None)
                if not self.crowded[zone]:
                    self.crowded[zone] = True
                    box = _union([p.box for p in here])
                    out.append(Event("crowding", zone, frame, now, None, box, {"people": count}))
            elif self.crowded[zone]:
                # One crowd is one event: a person hidden for a moment does not end it.
                since = self.calm_since.setdefault(zone, now)
                if now - since >= CALM_S:
                    self.crowded[zone] = False
        elif isinstance(rule, config.Unattended):
            poly = self.polygons[zone]
            for obj in objects:
                c = ((obj.box[0] + obj.box[2]) / 2, obj.box[3])
                if not inside(c, poly):
                    continue
                key = (zone, obj.id)
                near = any(gap(obj.box, p.box) <= rule.distance for p in people)
                if near:
                    self.alone_since.pop(key, None)
                    continue
                since = self.alone_since.setdefault(key, now)
                if now - since >= rule.seconds and self._once("unattended", zone, obj.id):
                    extra = {"static_s": round(now - obj.since, 2)}
                    out.append(Event("unattended", zone, frame, now, obj.id, obj.box, extra))
        return out

    def _line(
        self, line: config.Line, frame: int, now: float, people: Sequence[Person]
    ) -> list[Event]:
        out: list[Event] = []
        extra: dict[str, Any]
        wants_crossings = any(isinstance(r, config.LineCrossing) for r in line.rules)
        tail = next((r for r in line.rules if isinstance(r, config.Tailgating)), None)
        for p in people:
            before = self.prev_foot.get((line.name, p.id), p.origin)
            if _side(*line.points, p.foot) != 0:
                self.prev_foot[(line.name, p.id)] = p.foot
            side = crossing(line.points, before, p.foot)
            if not side:
                continue
            entry = (side > 0) == (line.inside == "left")
            self.counts[line.name]["entries" if entry else "exits"] += 1
            if wants_crossings:
                extra = {"direction": "entry" if entry else "exit"}
                out.append(Event("line_crossing", line.name, frame, now, p.id, p.box, extra))
            if entry and tail is not None and not self._use_grant(line.name, now, tail.window):
                self.tailgating += 1
                window = [
                    g.time_s
                    for g in self.grants
                    if g.line == line.name and now - tail.window <= g.time_s <= now
                ]
                extra = {"grants_in_window": len(window)}
                out.append(Event("tailgating", line.name, frame, now, p.id, p.box, extra))
        return out

    def _use_grant(self, line: str, now: float, window: float) -> bool:
        """Each grant admits one entry within the window after it."""
        for i, g in enumerate(self.grants):
            if i in self.used_grants or g.line != line:
                continue
            if now - window <= g.time_s <= now:
                self.used_grants.add(i)
                return True
        return False
