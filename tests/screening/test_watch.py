"""The scanner's drop folder: imported files move to done/, refused ones to rejected/ with the
reason beside them, and half a pair waits for its partner."""

from __future__ import annotations

import os
from datetime import timedelta

from mailwarden.cli import main
from mailwarden.core.actor import Actor
from mailwarden.core.roles import Role
from mailwarden.screening.models import Scan
from mailwarden.screening.watch import process_folder
from tests.factories import intake
from tests.screening.conftest import encode

SCANNER = Actor.device("dock-scanner", Role.SCREENER)


def age(path, clock, **delta) -> None:
    when = (clock.current - timedelta(**delta)).timestamp()
    os.utime(path, (when, when))


def test_a_folder_of_scans_is_sorted_into_done_and_rejected(
    tmp_path, site, recipient, frozen_clock, clean_pair, colour_rgb
):
    one, two, three = (intake(site, recipient) for _ in range(3))
    (tmp_path / f"{one.uid}.png").write_bytes(encode(colour_rgb, "PNG"))
    (tmp_path / f"{two.uid}_high.tif").write_bytes(clean_pair.high)
    (tmp_path / f"{two.uid}_low.tif").write_bytes(clean_pair.low)
    (tmp_path / f"{three.uid}.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (tmp_path / "MW-NOSUCH00.png").write_bytes(encode(colour_rgb, "PNG"))
    (tmp_path / "holiday photo.png").write_bytes(b"x")
    (tmp_path / ".incoming.png").write_bytes(b"half written")
    fresh = tmp_path / f"{three.uid}_high.tif"
    fresh.write_bytes(clean_pair.high)
    age(fresh, frozen_clock, minutes=1)
    stale = tmp_path / f"{one.uid}_low.tif"
    stale.write_bytes(clean_pair.low)
    age(stale, frozen_clock, minutes=30)

    outcomes = process_folder(tmp_path, SCANNER)

    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == sorted(
        [f"{one.uid}.png", f"{two.uid}_high.tif", f"{two.uid}_low.tif"]
    )
    rejected = tmp_path / "rejected"
    reasons = {
        p.name.removesuffix(".error.txt"): p.read_text().strip()
        for p in rejected.glob("*.error.txt")
    }
    assert set(reasons) == {
        f"{three.uid}.jpg",
        "MW-NOSUCH00.png",
        "holiday photo.png",
        f"{one.uid}_low.tif",
    }
    assert reasons[f"{three.uid}.jpg"].startswith("image: the file is not a readable image")
    assert reasons["MW-NOSUCH00.png"] == "uid: no item MW-NOSUCH00"
    assert reasons["holiday photo.png"].startswith("name: name the file <uid>.png")
    assert "high-energy image of the pair never arrived" in reasons[f"{one.uid}_low.tif"]
    for name in reasons:
        assert (rejected / name).exists()
    # the fresh half waits for its partner, and a dot-name is still being written
    assert fresh.exists() and (tmp_path / ".incoming.png").exists()
    assert Scan.objects.filter(item__in=[one, two]).count() == 2
    assert Scan.objects.get(item=two).taken_by == "device:dock-scanner"
    assert sum(o.ok for o in outcomes) == 2


def test_the_cli_imports_once_and_reports(tmp_path, item, clean_pair, capsys):
    (tmp_path / f"{item.uid}_high.tif").write_bytes(clean_pair.high)
    (tmp_path / f"{item.uid}_low.tif").write_bytes(clean_pair.low)
    (tmp_path / "readme.txt").write_text("scanner notes")
    assert main(["screening", "watch", str(tmp_path), "--once"]) == 1
    out, err = capsys.readouterr()
    assert f"imported {item.uid}_high.tif, {item.uid}_low.tif for {item.uid}: scan" in out
    assert "rejected readme.txt: name:" in err
    assert Scan.objects.get(item=item).source == "watch"


def test_the_cli_names_a_missing_folder(tmp_path, db, capsys):
    assert main(["screening", "watch", str(tmp_path / "absent"), "--once"]) == 1
    assert "is not a folder (folder)" in capsys.readouterr().err
