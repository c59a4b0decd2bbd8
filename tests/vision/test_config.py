from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mailwarden.vision import config
from mailwarden.vision.rules import RuleEngine


def test_a_rules_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "zones:\n"
        "  - name: lobby\n"
        "    area: [[0, 0], [100, 0], [100, 100]]\n"
        "    rules:\n"
        "      - {type: loitering, seconds: 15}\n"
        "      - {type: unattended, seconds: 10, distance: 50}\n"
        "      - {type: crowding, max_people: 4}\n"
        "lines:\n"
        "  - name: door\n"
        "    points: [[0, 50], [100, 50]]\n"
        "    rules: [{type: tailgating, window: 8}]\n"
    )
    rules = config.load_rules(path)
    assert [type(r).__name__ for r in rules.zones[0].rules] == [
        "Loitering",
        "Unattended",
        "Crowding",
    ]
    assert rules.analysis.fps == 5.0 and rules.analysis.motion_gating
    assert rules.lines[0].inside == "left"


@pytest.mark.parametrize(
    ("data", "names"),
    [
        ({"zones": [{"name": "a", "rules": [{"type": "loitering", "secs": 3}]}]}, "secs"),
        ({"zones": [{"name": "a", "rules": [{"type": "loiter", "seconds": 3}]}]}, "type"),
        ({"zones": [{"name": "a", "area": [[0, 0], [1, 1]]}]}, "area"),
        ({"zones": [{"name": "a", "colour": "red"}]}, "colour"),
        ({"zones": [{"name": "a"}], "lines": [{"name": "a", "points": [[0, 0], [1, 1]]}]}, "a"),
        ({"analysis": {"fps": 0}}, "analysis.fps"),
        ({"masks": [[[0, 0], [5, 5]]]}, "masks"),
        ({"analysis": {"gate_width": 400, "work_width": 320}}, "gate_width"),
        ({"zones": [{"name": "a", "rules": [{"type": "crowding", "max_people": -1}]}]}, "max"),
    ],
    ids=[
        "unknown-key",
        "unknown-rule",
        "two-points",
        "unknown-zone-key",
        "same-name",
        "fps",
        "mask-two-points",
        "gate-wider",
        "negative",
    ],
)
def test_a_bad_rules_file_names_the_field(data: object, names: str) -> None:
    with pytest.raises(config.RulesError) as err:
        config.parse_rules(data)
    assert names in str(err.value)


def test_after_hours_needs_the_time_of_the_first_frame() -> None:
    rules = config.parse_rules(
        {
            "zones": [
                {
                    "name": "a",
                    "rules": [
                        {"type": "after_hours", "schedule": [{"start": "08:00", "end": "18:00"}]}
                    ],
                }
            ]
        }
    )
    with pytest.raises(config.RulesError, match="start_time"):
        RuleEngine(rules, (640, 360))
    RuleEngine(rules, (640, 360), start_time=dt.datetime(2026, 12, 7, 9))


def test_a_missing_or_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(config.RulesError, match="No such file"):
        config.load_rules(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("zones: [\n")
    with pytest.raises(config.RulesError, match="not YAML"):
        config.load_rules(bad)
