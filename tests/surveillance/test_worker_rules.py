"""The worker's side with no server: a camera's configuration in the first frame's pixels, door
lines reported as crossings, after-hours in the site's time zone, credentials in the stream's
URL, and a video file played in a loop with its time running on."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from pathlib import Path

from mailwarden.contracts.vision import WorkerCamera, WorkerLine, WorkerZone
from mailwarden.vision import config, synthetic
from mailwarden.vision.capture import Status
from mailwarden.vision.playback import FilePlayer, file_path
from mailwarden.vision.remote import to_rules, wall_clock_start
from mailwarden.vision.service import camera_url

HOURS = {
    "type": "after_hours",
    "schedule": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "18:00"}],
}


def camera(**kw: object) -> WorkerCamera:
    base: dict[str, object] = {
        "name": "dock-cam",
        "site": "hq",
        "url": "rtsp://10.0.0.5:554/stream1",
        "time_zone": "Europe/Berlin",
        "zones": [
            WorkerZone(name="floor", rules=[{"type": "loitering", "seconds": 15}]),
            WorkerZone(
                name="desk",
                area=[(0.5, 0.5), (1.0, 0.5), (1.0, 1.0), (0.5, 1.0)],
                rules=[HOURS],
            ),
        ],
        "lines": [
            WorkerLine(
                name="door",
                points=((0.25, 0.5), (0.75, 0.5)),
                inside="right",
                door="mailroom-entrance",
                rules=[{"type": "tailgating", "window": 5}],
            )
        ],
        "masks": [[(0.0, 0.0), (0.1, 0.0), (0.1, 0.1)]],
        "analysis_fps": 4.0,
        "pre_roll_s": 2.0,
    }
    base.update(kw)
    return WorkerCamera.model_validate(base)


def test_fractions_become_the_first_frames_pixels() -> None:
    start = dt.datetime(2026, 3, 2, 20, 0, tzinfo=dt.UTC)
    rules = to_rules(camera(), (640, 360), start)
    floor, desk = rules.zones
    assert floor.area == "full" and desk.area == [(320, 180), (640, 180), (640, 360), (320, 360)]
    assert rules.lines[0].points == ((160, 180), (480, 180))
    assert rules.masks == [[(0, 0), (64, 0), (64, 36)]]
    assert (rules.analysis.fps, rules.evidence.pre_roll_s) == (4.0, 2.0)
    # The same camera on a larger picture keeps its zones where they were drawn.
    assert to_rules(camera(), (1280, 720), start).lines[0].points == ((320, 360), (960, 360))


def test_a_door_line_reports_crossings_for_the_servers_tailgating_check() -> None:
    rules = to_rules(camera(), (640, 360), None)
    assert [r.type for r in rules.lines[0].rules] == ["line_crossing"]
    assert rules.lines[0].inside == "right"


def test_after_hours_uses_the_sites_time_zone() -> None:
    # 06:30 UTC on a Monday is 07:30 in Berlin: before opening there.
    now = dt.datetime(2026, 3, 2, 6, 30, 10, tzinfo=dt.UTC)
    start = wall_clock_start(camera(), now, elapsed_s=10.0)
    assert start.utcoffset() == dt.timedelta(hours=1) and (start.hour, start.minute) == (7, 30)
    rules = to_rules(camera(), (640, 360), start)
    hours = rules.zones[1].rules[0]
    assert isinstance(hours, config.AfterHours)
    assert not hours.open_at(start) and hours.open_at(start + dt.timedelta(hours=1))


def test_a_bad_rule_is_an_error_naming_it() -> None:
    bad = camera(zones=[WorkerZone(name="floor", rules=[{"type": "loitering"}])])
    try:
        to_rules(bad, (640, 360), None)
    except config.RulesError as exc:
        assert "zones.0.rules.0" in str(exc) and "seconds" in str(exc)
    else:
        raise AssertionError("a loitering rule with no seconds was accepted")


def test_credentials_go_into_the_stream_url_quoted() -> None:
    assert camera_url(camera()) == "rtsp://10.0.0.5:554/stream1"
    with_login = camera(username="viewer", password="p@ss:word/1")
    assert camera_url(with_login) == "rtsp://viewer:p%40ss%3Aword%2F1@10.0.0.5:554/stream1"
    assert file_path("/srv/clip.mp4") == Path("/srv/clip.mp4")
    assert file_path("file:///srv/clip.mp4") == Path("/srv/clip.mp4")
    assert file_path("rtsp://10.0.0.5/s") is None


def test_a_file_plays_in_a_loop_with_its_time_running_on(tmp_path: Path) -> None:
    video = tmp_path / "door.mp4"
    frames = synthetic.write_video(synthetic.door_scene(), str(video))  # 12 s at 10 fps
    player = FilePlayer(video, loop=True, speed=0)
    stop = threading.Event()
    status = Status()
    times = []
    for frame in player(stop, status):
        times.append(frame.time_s)
        if len(times) == frames * 2 + 5:
            stop.set()
    assert player.passes == 2 and status.state == "online"
    assert all(b > a for a, b in itertools.pairwise(times))
    assert abs(times[frames] - 12.0) < 1e-6  # the second pass starts where the first ended
    once = FilePlayer(video, loop=False, speed=0)
    status = Status()
    assert sum(1 for _ in once(threading.Event(), status)) == frames
    assert status.state == "ended" and status.frames == frames


def test_a_line_without_rules_reports_nothing() -> None:
    quiet = camera(lines=[WorkerLine(name="door", points=((0.2, 0.5), (0.8, 0.5)), door="x")])
    assert to_rules(quiet, (640, 360), None).lines[0].rules == []
