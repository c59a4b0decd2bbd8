"""``mailwarden vision analyze`` and ``mailwarden vision eval``, on generated videos and on the
shared clips with their hand labels."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import pytest

from mailwarden.cli import main
from mailwarden.vision import synthetic

from .conftest import CLIPS, DATA

DOOR = """
analysis: {fps: null}
lines:
  - name: door
    points: [[150, 200], [500, 200]]
    inside: right
    rules: [{type: line_crossing}, {type: tailgating, window: 10}]
"""


@pytest.fixture(scope="module")
def door_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("door") / "door.mp4"
    synthetic.write_video(synthetic.door_scene(), str(path))
    return path


def lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_analyze_prints_one_object_per_event_then_the_summary(
    door_video: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(DOOR)
    code = main(
        [
            "vision",
            "analyze",
            str(door_video),
            "--rules",
            str(rules),
            "--json",
            "--grant",
            "door:1.5",
        ]
    )
    assert code == 0
    out = lines(capsys.readouterr().out)
    events, summary = out[:-1], out[-1]["summary"]
    assert [e["type"] for e in events] == ["line_crossing", "line_crossing", "tailgating"]
    for e in events:
        assert set(e) >= {"type", "zone", "frame", "time_s", "track", "bbox"}
        x0, y0, x1, y1 = e["bbox"]
        assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 360
        assert e["zone"] == "door"
        assert e["time_s"] == pytest.approx(e["frame"] / 10, abs=0.01)
    assert summary["frames"] == 120
    assert summary["person_tracks"] == 2
    assert summary["line_counts"] == {"door": {"entries": 2, "exits": 0}}


def test_analyze_writes_a_snapshot_and_a_clip_per_event(
    door_video: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(DOOR + "evidence: {pre_roll_s: 1, post_roll_s: 2}\n")
    evidence = tmp_path / "evidence"
    code = main(
        [
            "vision",
            "analyze",
            str(door_video),
            "--rules",
            str(rules),
            "--json",
            "--evidence",
            str(evidence),
        ]
    )
    assert code == 0
    events = lines(capsys.readouterr().out)[:-1]
    assert len(events) == 4  # two crossings, and without a grant two tailgaters
    for e in events:
        snap = cv2.imread(e["snapshot"])
        assert snap is not None and snap.shape == (360, 640, 3)
        clip = cv2.VideoCapture(e["clip"])
        count = int(clip.get(cv2.CAP_PROP_FRAME_COUNT))
        clip.release()
        # One second before, the frame itself and two after, at 10 fps.
        assert 28 <= count <= 32
        assert e["clip"].endswith(".mp4")


def test_clips_can_be_webm_for_browsers(
    door_video: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(DOOR + "evidence: {pre_roll_s: 1, post_roll_s: 1, clip_format: webm}\n")
    args = ["vision", "analyze", str(door_video), "--rules", str(rules), "--json"]
    assert main([*args, "--evidence", str(tmp_path / "ev"), "--grant", "door:1.5"]) == 0
    events = lines(capsys.readouterr().out)[:-1]
    clip = cv2.VideoCapture(events[0]["clip"])
    ok, image = clip.read()
    clip.release()
    assert events[0]["clip"].endswith(".webm") and ok and image.shape == (360, 640, 3)


def test_analyze_refuses_a_bad_rules_file(
    door_video: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("zones: [{name: a, rules: [{type: loitering, second: 3}]}]\n")
    assert main(["vision", "analyze", str(door_video), "--rules", str(rules)]) == 2
    err = capsys.readouterr().err
    assert "zones.0.rules.0.loitering.second" in err and err.count("\n") == 1


def test_analyze_refuses_a_missing_video(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("zones: []\n")
    assert main(["vision", "analyze", str(tmp_path / "none.mp4"), "--rules", str(rules)]) == 1
    assert "no such file" in capsys.readouterr().err


def test_a_grant_on_an_unknown_line_is_refused(
    door_video: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(DOOR)
    args = ["vision", "analyze", str(door_video), "--rules", str(rules), "--grant", "back:3"]
    assert main(args) == 2
    assert "no line named 'back'" in capsys.readouterr().err


def evaluate(clip: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code = main(
        [
            "vision",
            "eval",
            str(DATA / f"{clip}.gif"),
            "--labels",
            str(DATA / f"{clip}.labels.yaml"),
            "--json",
        ]
    )
    assert code == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


@pytest.mark.parametrize("clip", CLIPS)
def test_no_clip_raises_an_event_its_labels_do_not_have(
    clip: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = evaluate(clip, capsys)
    assert result["events"]["fp"] == 0, result["unexpected"]
    # Never more person tracks than people: no ghosts, shelves or shaking edges as people.
    assert result["people"]["person_tracks"] <= result["people"]["labelled"]


def test_the_worker_is_found_tracked_and_seen_to_dwell(capsys: pytest.CaptureFixture[str]) -> None:
    result = evaluate("worker-zone-detection", capsys)
    assert result["events"]["recall"] == 1.0
    assert result["people"] == {"labelled": 1, "person_tracks": 1}


def test_the_shopper_who_walks_in_and_one_who_stands_are_found(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = evaluate("store-aisle-detection", capsys)
    # The two standing from the first frame are part of the first background. The people HOG,
    # asked about what moves in place, finds the man in the hat (who only moves his arms) and
    # the woman who walks in, in front of the woman in teal and in one blob with her; their
    # dwell counts from when their tracks began.
    assert result["by_type"]["presence"]["tp"] >= 2
    assert result["by_type"]["loitering"]["tp"] >= 2
    assert result["people"]["person_tracks"] >= 2


def test_eval_prints_a_readable_report(capsys: pytest.CaptureFixture[str]) -> None:
    clip = "worker-zone-detection"
    assert (
        main(
            [
                "vision",
                "eval",
                str(DATA / f"{clip}.gif"),
                "--labels",
                str(DATA / f"{clip}.labels.yaml"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "events: precision 1.00, recall 1.00" in out
    assert "people: 1 person tracks for 1 labelled" in out


def test_the_vision_commands_import_no_django(door_video: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(DOOR)
    code = (
        "import sys\n"
        "from mailwarden.cli import main\n"
        f"main(['vision', 'analyze', {str(door_video)!r}, '--rules', {str(rules)!r}, '--json'])\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'ninja'))\n"
        "print('DJANGO', bad)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert "DJANGO []" in done.stdout, done.stdout[-500:]


def test_the_default_rate_analyses_five_frames_a_second(
    door_video: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(DOOR.replace("analysis: {fps: null}\n", ""))
    assert (
        main(
            [
                "vision",
                "analyze",
                str(door_video),
                "--rules",
                str(rules),
                "--json",
                "--grant",
                "door:1.5",
            ]
        )
        == 0
    )
    out = lines(capsys.readouterr().out)
    summary = out[-1]["summary"]
    assert summary["frames"] == 120 and summary["sampled"] == 60
    assert summary["analysis_fps"] == 5.0
    # Half the frames, the same story: two entries on one grant.
    assert [e["type"] for e in out[:-1]] == ["line_crossing", "line_crossing", "tailgating"]


def test_the_progress_bar_draws_on_its_stream() -> None:
    import io

    from mailwarden.vision.cli import Progress

    stream = io.StringIO()
    bar = Progress("analysing clip.mp4", stream)
    bar(50, 200)
    bar(60, 200)  # within half a second of the last: not drawn again
    bar.close()
    text = stream.getvalue()
    assert text.count("\r") == 1 and "[#######-----" in text and "50/200" in text
    assert text.endswith("\n")


def test_after_hours_on_a_file_needs_its_start_time(
    door_video: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "analysis: {fps: null}\n"
        "zones: [{name: hall, rules: [{type: after_hours, "
        "schedule: [{start: '08:00', end: '18:00'}]}]}]\n"
    )
    args = ["vision", "analyze", str(door_video), "--rules", str(rules), "--json"]
    assert main(args) == 2
    assert "start_time" in capsys.readouterr().err
    assert main([*args, "--start", "2026-12-07T23:00:00"]) == 0
    out = lines(capsys.readouterr().out)
    assert [e["type"] for e in out[:-1]] == ["after_hours", "after_hours"]
    assert out[0]["at"].startswith("2026-12-07T23:00")
