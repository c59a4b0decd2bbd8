"""The ``xray`` and ``screening`` commands, run as a user would run them."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from mailwarden.cli import build_parser, main
from tests.screening.conftest import encode


@pytest.mark.parametrize(
    "words",
    [["xray"], ["xray", "eval"], ["xray", "analyze"], ["screening"], ["screening", "watch"]],
    ids=" ".join,
)
def test_every_new_command_has_help(words, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*words, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: mailwarden") and "--help" in out


def test_analyze_a_pair_in_either_order(tmp_path, knife_pair, capsys):
    high, low = tmp_path / "p_high.tif", tmp_path / "p_low.tif"
    high.write_bytes(knife_pair.high)
    low.write_bytes(knife_pair.low)
    assert main(["xray", "analyze", str(low), str(high), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["files"] == [str(high), str(low)]
    assert (result["kind"], result["width"], result["height"]) == ("pair", 512, 384)
    assert "knife" in [r["cls"] for r in result["regions"]]
    assert main(["xray", "analyze", str(high), str(low)]) == 0
    assert " knife " in capsys.readouterr().out


def test_analyze_a_colour_composite_and_refuse_bad_files(tmp_path, colour_rgb, capsys):
    composite = tmp_path / "scan.png"
    composite.write_bytes(encode(colour_rgb, "PNG"))
    assert main(["xray", "analyze", str(composite)]) == 0
    assert str(composite) in capsys.readouterr().out
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    assert main(["xray", "analyze", str(broken)]) == 1
    assert f"{broken}: the file is not a readable image" in capsys.readouterr().err
    assert main(["xray", "analyze", str(tmp_path / "absent.png")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_eval_prints_each_class_and_writes_the_roc(tmp_path, capsys):
    roc = tmp_path / "roc.png"
    code = main(
        [
            "xray",
            "eval",
            "--n",
            "2",
            "--seed",
            "3",
            "--size",
            "512x384",
            "--json",
            "--roc",
            str(roc),
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 2
    assert set(result["classes"]) == {"explosive", "ied", "knife", "gun", "shielded", "powder"}
    assert {"pd", "far", "auc"} <= set(result["classes"]["knife"])
    with Image.open(roc) as image:
        assert image.format == "PNG"


def test_eval_refuses_a_bad_count(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["xray", "eval", "--n", "0"])
    assert exit_.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err


def test_eval_prints_a_table_for_people(capsys):
    assert main(["xray", "eval", "--n", "1", "--size", "512x384"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1 parcels, seed 1")
    for name in ("explosive", "knife", "powder"):
        assert f"\n{name} " in out


def test_progress_draws_a_bar_when_the_work_reports_steps(capsys):
    from mailwarden.cli import _Progress

    with _Progress(10, "evaluating") as progress:
        progress.step(5)
    err = capsys.readouterr().err
    assert "evaluating [###############---------------] 5/10" in err
