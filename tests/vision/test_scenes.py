"""Generated scenes with exact ground truth, through the whole pipeline."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from mailwarden.vision import config, synthetic
from mailwarden.vision.pipeline import Analyzer
from mailwarden.vision.rules import Event, Grant


def run(
    scene: synthetic.Scene, rules: dict[str, Any], grants: list[Grant] | None = None, **kw: Any
) -> tuple[list[Event], Analyzer]:
    parsed = config.parse_rules({"analysis": {"fps": None}, **rules})
    analyzer = Analyzer(parsed, scene.size, scene.fps, grants=grants or [], **kw)
    events: list[Event] = []
    for index, t, image in scene.frames():
        events += analyzer.process(image, index, t)
    return events, analyzer


def kinds(events: list[Event]) -> list[str]:
    return [e.type for e in events]


def overlaps(box: tuple[float, ...], truth: tuple[float, ...] | None) -> bool:
    assert truth is not None
    return box[0] < truth[2] and truth[0] < box[2] and box[1] < truth[3] and truth[1] < box[3]


MIDDLE = [[220, 200], [400, 200], [400, 360], [220, 360]]


def test_a_person_who_stands_still_loiters_and_one_who_walks_past_does_not() -> None:
    scene = synthetic.dwell_scene()
    events, analyzer = run(
        scene,
        {
            "zones": [
                {"name": "room", "rules": [{"type": "presence"}]},
                {"name": "middle", "area": MIDDLE, "rules": [{"type": "loitering", "seconds": 10}]},
            ]
        },
    )
    assert sorted(kinds(events)) == ["loitering", "presence", "presence"]
    loiter = next(e for e in events if e.type == "loitering")
    # The first walker reaches the middle at 5 s: the dwell passes 10 s at 15 s.
    assert 14.0 <= loiter.time_s <= 16.5
    assert loiter.extra["dwell_s"] > 10
    assert overlaps(loiter.bbox, scene.walkers[0].box(loiter.time_s))
    assert analyzer.summary.person_tracks == 2
    # While the walker stands still, nothing moves: most of those frames are gated.
    assert analyzer.summary.gated > 0.3 * analyzer.summary.frames


def test_loitering_counts_only_inside_the_polygon() -> None:
    far = [[500, 0], [640, 0], [640, 100], [500, 100]]
    events, _ = run(
        synthetic.dwell_scene(),
        {
            "zones": [
                {"name": "corner", "area": far, "rules": [{"type": "loitering", "seconds": 3}]}
            ]
        },
    )
    assert events == []


def test_a_package_left_behind_is_unattended_once_nobody_is_near() -> None:
    scene = synthetic.package_scene()
    events, analyzer = run(
        scene,
        {
            "zones": [
                {
                    "name": "room",
                    "rules": [{"type": "unattended", "seconds": 10, "distance": 60}],
                }
            ]
        },
    )
    assert kinds(events) == ["unattended"]
    event = events[0]
    # Put down at 6 s; its carrier is more than 60 px away from about 8 s.
    assert 17.0 <= event.time_s <= 21.0
    x0, y0, x1, y1 = scene.packages[0].box
    assert abs(event.bbox[0] - x0) <= 6 and abs(event.bbox[2] - x1) <= 6
    assert abs(event.bbox[1] - y0) <= 6 and abs(event.bbox[3] - y1) <= 6
    assert analyzer.summary.person_tracks == 1


def test_no_unattended_object_while_its_owner_stays_beside_it() -> None:
    scene = synthetic.package_scene()
    # The owner stays: walking away only at the very end.
    owner = synthetic.Walker(
        [(1.0, -30, 300), (5.0, 320, 300), (38.0, 322, 300), (40.0, 680, 300)], 120
    )
    scene.walkers = [owner]
    events, _ = run(
        scene,
        {"zones": [{"name": "room", "rules": [{"type": "unattended", "seconds": 10}]}]},
    )
    assert events == []


def door_rules() -> dict[str, Any]:
    return {
        "lines": [
            {
                "name": "door",
                "points": [[150, 200], [500, 200]],
                "inside": "right",
                "rules": [{"type": "line_crossing"}, {"type": "tailgating", "window": 10}],
            }
        ]
    }


def test_two_people_through_the_door_on_one_grant_is_tailgating() -> None:
    events, analyzer = run(synthetic.door_scene(), door_rules(), [Grant("door", 1.5)])
    crossings = [e for e in events if e.type == "line_crossing"]
    assert [e.extra["direction"] for e in crossings] == ["entry", "entry"]
    tail = [e for e in events if e.type == "tailgating"]
    assert len(tail) == 1
    # The second person is the tailgater.
    assert tail[0].track == crossings[1].track != crossings[0].track
    assert tail[0].extra["grants_in_window"] == 1
    assert analyzer.engine.counts["door"] == {"entries": 2, "exits": 0}


def test_two_grants_for_two_people_is_no_tailgating() -> None:
    events, _ = run(synthetic.door_scene(), door_rules(), [Grant("door", 1.5), Grant("door", 4.5)])
    assert "tailgating" not in kinds(events)


def test_a_grant_outside_the_window_does_not_count() -> None:
    rules = door_rules()
    rules["lines"][0]["rules"][1]["window"] = 2
    events, _ = run(synthetic.door_scene(), rules, [Grant("door", 0.0)])
    # The first crossing, about 2.5 s after the grant, is already past the 2 s window.
    assert kinds(events).count("tailgating") == 2


def test_walking_the_other_way_is_an_exit() -> None:
    rules = door_rules()
    rules["lines"][0]["inside"] = "left"
    events, analyzer = run(synthetic.door_scene(), rules)
    assert [e.extra["direction"] for e in events if e.type == "line_crossing"] == ["exit"] * 2
    assert "tailgating" not in kinds(events)
    assert analyzer.engine.counts["door"] == {"entries": 0, "exits": 2}


def test_three_people_in_a_zone_for_two_is_one_crowding_event() -> None:
    events, analyzer = run(
        synthetic.crowd_scene(people=3),
        {"zones": [{"name": "room", "rules": [{"type": "crowding", "max_people": 2}]}]},
    )
    assert kinds(events) == ["crowding"]
    assert events[0].extra["people"] == 3
    assert 3.0 <= events[0].time_s <= 6.0
    assert analyzer.summary.person_tracks == 3


@pytest.mark.parametrize(
    ("start", "fires"),
    [("2026-12-07T22:00:00", True), ("2026-12-07T10:00:00", False), ("2026-12-06T10:00:00", True)],
    ids=["monday-night", "monday-morning", "sunday"],
)
def test_after_hours_presence_follows_the_schedule(start: str, fires: bool) -> None:
    rules = {
        "zones": [
            {
                "name": "room",
                "rules": [
                    {"type": "after_hours", "schedule": [{"start": "07:00", "end": "19:00"}]}
                ],
            }
        ]
    }
    events, _ = run(synthetic.dwell_scene(), rules, start_time=dt.datetime.fromisoformat(start))
    assert kinds(events) == (["after_hours", "after_hours"] if fires else [])


def test_an_empty_scene_raises_nothing_and_is_almost_all_gated() -> None:
    scene = synthetic.idle_scene((640, 360), 5.0, 30.0)
    events, analyzer = run(
        scene,
        {
            "zones": [
                {
                    "name": "room",
                    "rules": [
                        {"type": "presence"},
                        {"type": "unattended", "seconds": 5},
                        {"type": "crowding", "max_people": 0},
                    ],
                }
            ]
        },
    )
    assert events == []
    s = analyzer.summary
    assert s.gated >= s.frames - 5
    assert s.person_tracks == 0 and s.objects == 0


def test_without_gating_the_same_events_fire() -> None:
    rules = {
        "analysis": {"fps": None, "motion_gating": False},
        "zones": [
            {"name": "room", "rules": [{"type": "presence"}]},
            {"name": "middle", "area": MIDDLE, "rules": [{"type": "loitering", "seconds": 10}]},
        ],
    }
    events, analyzer = run(synthetic.dwell_scene(), rules)
    assert sorted(kinds(events)) == ["loitering", "presence", "presence"]
    assert analyzer.summary.gated == 0


def test_what_moves_under_a_mask_is_ignored() -> None:
    scene = synthetic.dwell_scene()
    # The second walker crosses at y 150..250; mask that band across the whole width.
    band = [[0, 140], [640, 140], [640, 255], [0, 255]]
    scene.walkers = [scene.walkers[1]]
    rules: dict[str, Any] = {"zones": [{"name": "room", "rules": [{"type": "presence"}]}]}
    events, analyzer = run(scene, rules)
    assert kinds(events) == ["presence"]
    events, analyzer = run(scene, {**rules, "masks": [band]})
    assert events == []
    assert analyzer.summary.person_tracks == 0
    # The gate does not see it either: the camera stays idle.
    assert analyzer.summary.gated >= analyzer.summary.frames - 5


def test_people_standing_from_the_first_frame_are_counted_after_a_while() -> None:
    # Both are part of the first background and never walk: only their legs move. The people
    # HOG, asked about what keeps moving in place, finds them; the mannequin between them never
    # moves, so nothing asks about it.
    scene = synthetic.standing_scene()
    events, analyzer = run(
        scene,
        {
            "zones": [
                {
                    "name": "room",
                    "rules": [{"type": "presence"}, {"type": "loitering", "seconds": 10}],
                }
            ]
        },
    )
    presence = [e for e in events if e.type == "presence"]
    assert len(presence) == 2 and all(e.time_s <= 3.0 for e in presence)
    for e in presence:
        assert any(overlaps(e.bbox, w.box(e.time_s)) for w in scene.walkers[:2])
        assert not overlaps(e.bbox, scene.walkers[2].box(e.time_s))
    # Their dwell counts from when their tracks began, not from when they were known as people.
    loitering = [e for e in events if e.type == "loitering"]
    assert len(loitering) == 2 and all(10.0 <= e.time_s <= 11.5 for e in loitering)
    assert analyzer.summary.person_tracks == 2


def test_without_the_hog_people_who_only_stand_are_not_counted() -> None:
    scene = synthetic.standing_scene()
    events, analyzer = run(
        scene,
        {
            "analysis": {"fps": None, "verifier": "shape"},
            "zones": [{"name": "room", "rules": [{"type": "presence"}]}],
        },
    )
    assert events == [] and analyzer.summary.person_tracks == 0


def test_a_mannequin_from_the_first_frame_is_never_a_person() -> None:
    scene = synthetic.standing_scene()
    scene.walkers = [scene.walkers[2]]
    events, analyzer = run(scene, {"zones": [{"name": "room", "rules": [{"type": "presence"}]}]})
    assert events == [] and analyzer.summary.person_tracks == 0
    # Nothing moves, so the camera stays idle.
    assert analyzer.summary.gated >= analyzer.summary.frames - 5


def test_two_people_side_by_side_in_one_blob_are_two_people() -> None:
    # They walk in touching each other, so the foreground is one blob wider than a person; the
    # people HOG finds two outlines in it, and the second track goes where the blob goes.
    scene = synthetic.group_scene()
    events, analyzer = run(
        scene,
        {"zones": [{"name": "room", "rules": [{"type": "crowding", "max_people": 1}]}]},
    )
    assert kinds(events) == ["crowding"]
    assert events[0].extra["people"] == 2
    assert analyzer.summary.person_tracks == 2
    assert analyzer.summary.max_people == 2


@pytest.mark.parametrize("fps", [10.0, 5.0])
def test_someone_standing_from_the_first_frame_who_walks_off_is_one_person_who_leaves(
    fps: float,
) -> None:
    # When she walks off, the place she stood on (in every background since the first frame)
    # shows as a blob of its own; the track that leaves with her is her, and nobody stays on
    # the empty place to loiter there.
    scene = synthetic.standing_scene(fps=fps)
    scene.walkers = [synthetic.Walker([(0.0, 180, 300), (8.0, 182, 300), (11.0, -40, 300)], 120)]
    events, analyzer = run(
        scene,
        {
            "zones": [
                {
                    "name": "room",
                    "rules": [{"type": "presence"}, {"type": "loitering", "seconds": 15}],
                }
            ]
        },
    )
    assert kinds(events) == ["presence"]
    assert analyzer.summary.person_tracks == 1
    assert analyzer._people(scene.seconds) == []


def test_someone_who_holds_perfectly_still_for_a_while_stays_one_person() -> None:
    # From 4 s to 20 s nothing of her moves, so the camera is idle; her place still looks as it
    # did when the HOG saw her, so she is still there, and the dwell goes on.
    scene = synthetic.standing_scene()
    first = scene.walkers[0]
    scene.walkers = [synthetic.Walker(first.path, first.height, first.colour, frozen=(4.0, 20.0))]
    events, analyzer = run(
        scene,
        {
            "zones": [
                {
                    "name": "room",
                    "rules": [{"type": "presence"}, {"type": "loitering", "seconds": 10}],
                }
            ]
        },
    )
    assert kinds(events) == ["presence", "loitering"]
    assert analyzer.summary.person_tracks == 1
    assert analyzer.summary.gated > 0.5 * analyzer.summary.frames


def test_a_person_sized_screen_that_flickers_in_place_is_never_a_person() -> None:
    # It is a candidate that moves in place for 30 s, the very thing the people HOG is asked
    # about; it has no person's outline.
    events, analyzer = run(
        synthetic.screen_scene(),
        {"zones": [{"name": "room", "rules": [{"type": "presence"}]}]},
    )
    assert events == [] and analyzer.summary.person_tracks == 0
