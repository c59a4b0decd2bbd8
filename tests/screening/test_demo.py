"""The demo's simulated scanner: scans stored and analysed like a real import, once."""

from __future__ import annotations

from mailwarden.core import ledger
from mailwarden.custody import services as custody
from mailwarden.screening.demo import seed_scans
from mailwarden.screening.models import Scan
from tests.factories import intake
from tests.screening.conftest import SCREENER_A


def test_every_screened_item_gets_a_scan_once(site, recipient, item, quarantined):
    cleared = custody.transition(SCREENER_A, intake(site, recipient).uid, "cleared")
    received = [item, quarantined, cleared]
    result = seed_scans(received, seed=3, sample=None)
    assert result.scans == 3
    assert result.threats >= 1  # what ended in quarantine held a threat
    scans = {s.item.uid: s for s in Scan.objects.select_related("item")}
    assert set(scans) == {item.uid, quarantined.uid, cleared.uid}
    assert all(
        s.kind == "pair" and s.source == "demo" and s.rendered_sha256 for s in scans.values()
    )
    history = ledger.entries_for("mailitem", cleared.uid)
    scan_entry = next(e for e in history if e.action == "screening.scan.stored")
    assert ledger.entry_data(scan_entry)["backfilled"] is True
    assert seed_scans(received, seed=3, sample=None).scans == 0


def test_the_demo_simulates_each_parcel_of_its_pool_once():
    from mailwarden.screening.demo import HARMLESS_PARCELS, ParcelPool

    pool = ParcelPool(seed=3)
    harmless = pool.images(None, 1)
    assert pool.images(None, 1 + HARMLESS_PARCELS) is harmless
    knife = pool.images("knife", 5)
    assert knife != harmless and pool.images("knife", 6) is knife
    assert len(pool.made) == 2
    # Both images of the pair are 16-bit TIFFs, as a real scanner sends them.
    assert all(image[:4] in (b"II*\x00", b"MM\x00*") for image in knife)
