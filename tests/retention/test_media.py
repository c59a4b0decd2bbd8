"""Photos, signatures and X-ray images are purged N days after the item's last step, by the
item's site's rule or the default one; the rows keep the hashes, the ledger records each purge
and still verifies, and a file another live row uses stays."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from mailwarden.core import ledger, media
from mailwarden.core.errors import Forbidden, ServiceError
from mailwarden.custody import services as custody
from mailwarden.custody.models import MailItem
from mailwarden.custody.retention import purge_content
from mailwarden.directory.retention import rules_for, set_site_retention
from mailwarden.screening import services as screening
from mailwarden.screening.models import Scan
from mailwarden.screening.retention import purge_images
from mailwarden.screening.services import ScanUpload
from tests.factories import CLERK, MANAGER, SCREENER, intake, make_site
from tests.retention.conftest import picked_up, png, signature, waiting
from tests.screening.conftest import SCREENER_A, encode


def keep(site_code: str, days: int | None) -> None:
    set_site_retention(
        MANAGER, site_code, media_days=days, access_event_months=None, departed_person_days=None
    )


def signatures_of(item: MailItem) -> list[str]:
    return [
        str(ledger.entry_data(e)["signature_sha256"])
        for e in ledger.entries_for("mailitem", item.uid)
        if "signature_sha256" in ledger.entry_data(e)
    ]


def exists(digest: str) -> bool:
    return media.path_for(digest).exists()


def test_photo_and_signature_go_after_the_sites_days_and_not_before(
    committed, site, recipient, clock
):
    keep("hq", 30)
    item = picked_up(site, recipient)
    [sig] = signatures_of(item)
    assert exists(item.photo_sha256) and exists(sig)

    early = committed(purge_content, clock.advance(days=29, hours=23))
    assert early.subjects == []
    assert exists(item.photo_sha256) and exists(sig)

    now = clock.advance(hours=2)
    run = committed(purge_content, now)
    assert run.subjects == [f"item {item.uid}: {rules_for('hq').media_rule()}"]
    assert sorted(run.files) == sorted([item.photo_sha256, sig])
    assert not exists(item.photo_sha256) and not exists(sig)
    stored = MailItem.objects.get(pk=item.pk)
    # The row keeps the hash; it says when and under which rule the content went.
    assert stored.photo_sha256 == item.photo_sha256
    assert stored.content_purged_at == now
    assert "30 days after the last step" in stored.content_purged_rule
    assert "site Site hq" in stored.content_purged_rule
    entry = ledger.entries_for("mailitem", item.uid)[-1]
    assert entry.action == "custody.content.purged"
    assert ledger.entry_data(entry) == {
        "rule": stored.content_purged_rule,
        "photo": item.photo_sha256,
        "signatures": [sig],
    }
    assert ledger.verify().ok
    # A second run finds nothing more to do.
    assert committed(purge_content, clock.advance(days=1)).subjects == []


def test_an_item_still_in_custody_is_never_purged(committed, site, recipient, clock):
    keep("hq", 1)
    item = waiting(site, recipient)
    assert committed(purge_content, clock.advance(days=400)).subjects == []
    assert exists(item.photo_sha256)


def test_each_site_has_its_own_rule_and_the_default_covers_the_rest(
    committed, site, recipient, clock, defaults
):
    defaults.media_days = 60
    other = make_site("branch")
    keep("hq", 30)
    at_hq = picked_up(site, recipient)
    at_branch = picked_up(other, recipient)

    run = committed(purge_content, clock.advance(days=31))
    assert [s.split(":")[0] for s in run.subjects] == [f"item {at_hq.uid}"]
    assert exists(at_branch.photo_sha256)

    run = committed(purge_content, clock.advance(days=30))
    assert [s.split(":")[0] for s in run.subjects] == [f"item {at_branch.uid}"]
    rule = MailItem.objects.get(pk=at_branch.pk).content_purged_rule
    assert "60 days" in rule and "the default rule" in rule
    assert not exists(at_branch.photo_sha256)


def test_keep_forever_keeps(committed, site, recipient, clock, defaults):
    defaults.media_days = 10
    keep("hq", None)  # the site's own rule: keep forever, whatever the default says
    item = picked_up(site, recipient)
    assert committed(purge_content, clock.advance(days=3650)).subjects == []
    assert exists(item.photo_sha256)
    assert not rules_for("hq").media_days


def test_a_file_another_live_item_uses_is_kept_until_that_one_goes_too(
    committed, site, recipient, clock
):
    keep("hq", 30)
    same = png(shade=7)
    first = picked_up(site, recipient, photo=same, signed=signature(shade=9))
    clock.advance(days=20)
    second = picked_up(site, recipient, photo=same, signed=signature(shade=9))
    assert first.photo_sha256 == second.photo_sha256

    run = committed(purge_content, clock.advance(days=11))
    assert [s.split(":")[0] for s in run.subjects] == [f"item {first.uid}"]
    assert run.files == []  # the photo and the signature both serve the second item still
    assert exists(first.photo_sha256)
    assert MailItem.objects.get(pk=first.pk).content_purged_at is not None

    run = committed(purge_content, clock.advance(days=20))
    assert [s.split(":")[0] for s in run.subjects] == [f"item {second.uid}"]
    assert not exists(first.photo_sha256)
    assert run.files == sorted([first.photo_sha256, *signatures_of(first)])


def test_a_dry_run_lists_and_changes_nothing(committed, site, recipient, clock):
    keep("hq", 30)
    item = picked_up(site, recipient)
    head = ledger.head()
    run = committed(purge_content, clock.advance(days=31), dry_run=True)
    assert run.dry_run and [s.split(":")[0] for s in run.subjects] == [f"item {item.uid}"]
    assert ledger.head() == head and exists(item.photo_sha256)
    assert MailItem.objects.get(pk=item.pk).content_purged_at is None


def colour(level: int) -> bytes:
    return encode(np.full((48, 64, 3), level, np.uint8), "PNG")


def test_xray_images_go_with_the_items_content_and_the_scan_keeps_its_hashes(
    committed, site, recipient, clock
):
    keep("hq", 30)
    item = intake(site, recipient, photo=png())
    scan = screening.import_scan(SCREENER_A, item.uid, ScanUpload(image=colour(200)))
    files = list(dict.fromkeys([scan.file_sha256, scan.rendered_sha256]))
    assert all(exists(h) for h in files)

    custody.transition(SCREENER, item.uid, "cleared", reason="clear")
    custody.transition(CLERK, item.uid, "ready_for_pickup", reason="shelved")
    custody.transition(CLERK, item.uid, "returned", reason="refused by the recipient")

    assert committed(purge_images, clock.advance(days=29)).subjects == []
    now = clock.advance(days=2)
    run = committed(purge_images, now)
    assert [s.split(":")[0] for s in run.subjects] == [f"item {item.uid}"]
    assert sorted(run.files) == sorted(files)
    assert not any(exists(h) for h in files)
    stored = Scan.objects.get(pk=scan.pk)
    assert (stored.file_sha256, stored.rendered_sha256) == (scan.file_sha256, scan.rendered_sha256)
    assert stored.images_purged_at == now and "30 days" in stored.images_purged_rule
    entry = ledger.entries_for("mailitem", item.uid)[-1]
    assert entry.action == "screening.xray_images.purged"
    assert ledger.entry_data(entry)["scans"] == [{"scan": scan.pk, "images": files}]
    assert ledger.verify().ok


def test_a_scan_file_shared_with_a_live_scan_stays(committed, site, recipient, clock):
    keep("hq", 30)
    old = intake(site, recipient)
    young = intake(site, recipient)
    same = colour(150)
    kept = screening.import_scan(SCREENER_A, old.uid, ScanUpload(image=same))
    screening.import_scan(SCREENER_A, young.uid, ScanUpload(image=same))
    custody.transition(SCREENER, old.uid, "cleared", reason="clear")
    custody.transition(CLERK, old.uid, "ready_for_pickup", reason="shelved")
    custody.transition(CLERK, old.uid, "returned", reason="refused")
    run = committed(purge_images, clock.advance(days=31))
    assert [s.split(":")[0] for s in run.subjects] == [f"item {old.uid}"]
    assert run.files == []
    assert exists(kept.file_sha256) and exists(kept.rendered_sha256)


def test_only_a_security_manager_or_admin_changes_rules(site):
    with pytest.raises(Forbidden):
        set_site_retention(
            CLERK, "hq", media_days=5, access_event_months=None, departed_person_days=None
        )
    assert not rules_for("hq").own


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("media_days", 0, "between 1 and 36500"),
        ("access_event_months", 5000, "between 1 and 1200"),
        ("departed_person_days", "30", "whole number"),
    ],
)
def test_a_bad_rule_is_refused_naming_its_field(site, field, value, why):
    values = {"media_days": None, "access_event_months": None, "departed_person_days": None}
    values[field] = value
    head = ledger.head()
    with pytest.raises(ServiceError) as refused:
        set_site_retention(MANAGER, "hq", **values)
    assert refused.value.field == field and why in refused.value.message
    assert ledger.head() == head


def test_a_rule_change_is_on_the_ledger(site, clock):
    keep("hq", 30)
    entry = ledger.entries_for("site", "hq")[-1]
    assert entry.action == "directory.retention.changed"
    assert ledger.entry_data(entry)["changed"]["media_days"] == [None, 30]
    assert timedelta(0) == clock() - entry.created_at
