"""`mailwarden retention run [--dry-run]`: lists what the rules would purge, or purges it; the
ledger verifies afterwards (`mailwarden ledger verify`)."""

from __future__ import annotations

from mailwarden.cli import main
from mailwarden.core import ledger
from mailwarden.custody.models import MailItem
from mailwarden.directory.retention import set_site_retention
from tests.factories import MANAGER
from tests.retention.conftest import picked_up


def test_dry_run_lists_then_run_purges_and_the_ledger_verifies(
    site, recipient, clock, capsys, django_capture_on_commit_callbacks
):
    set_site_retention(
        MANAGER, "hq", media_days=30, access_event_months=None, departed_person_days=None
    )
    item = picked_up(site, recipient)
    clock.advance(days=31)
    head = ledger.head()

    assert main(["retention", "run", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "custody.purge_content: would purge 1" in out
    assert f"item {item.uid}: photos, signatures and X-ray images 30 days" in out
    assert ledger.head() == head
    assert MailItem.objects.get(pk=item.pk).content_purged_at is None

    with django_capture_on_commit_callbacks(execute=True):
        assert main(["retention", "run"]) == 0
    out = capsys.readouterr().out
    assert "custody.purge_content: purged 1, files deleted 2" in out
    assert MailItem.objects.get(pk=item.pk).content_purged_at == clock()

    assert main(["ledger", "verify"]) == 0
    assert "ledger OK" in capsys.readouterr().out
