"""The console's site and location pages: who sees and changes them, and what refusals say."""

from __future__ import annotations

from mailwarden.core.models import LedgerEntry
from mailwarden.core.roles import Role
from mailwarden.directory.models import Location, Site


def test_staff_see_sites_and_their_locations_but_only_managers_change_them(as_role, site):
    clerk = as_role(Role.CLERK)
    listing = clerk.get("/sites/")
    assert listing.status_code == 200
    body = listing.content.decode()
    assert "Site hq" in body and "Europe/London" in body
    assert "Add a site" not in body
    detail = clerk.get("/sites/hq/").content.decode()
    assert "Quarantine room" in detail and "Add a location" not in detail
    before = Site.objects.count()
    assert clerk.post("/sites/", {"code": "x", "name": "X", "timezone": "UTC"}).status_code == 403
    assert (
        clerk.post("/sites/hq/locations/", {"code": "l", "name": "L", "kind": "shelf"}).status_code
        == 403
    )
    assert Site.objects.count() == before
    assert as_role(Role.RECIPIENT).get("/sites/").status_code == 403


def test_manager_adds_a_site_then_a_location_and_each_is_on_the_ledger(as_role, db):
    manager = as_role(Role.SECURITY_MANAGER)
    created = manager.post(
        "/sites/", {"code": "north", "name": "North mailroom", "timezone": "Europe/Oslo"}
    )
    assert created.status_code == 302 and created["Location"] == "/sites/north/"
    added = manager.post(
        "/sites/north/locations/", {"code": "dock", "name": "North dock", "kind": "dock"}
    )
    assert added.status_code == 302
    assert Location.objects.get(site__code="north", code="dock").kind == "dock"
    page = manager.get("/sites/north/").content.decode()
    assert "North dock" in page and "Dock" in page
    actions = list(LedgerEntry.objects.order_by("seq").values_list("action", flat=True))
    assert actions[-2:] == ["directory.site.created", "directory.location.created"]


def test_refusals_show_next_to_their_field_and_change_nothing(as_role, site):
    manager = as_role(Role.SECURITY_MANAGER)
    entries = LedgerEntry.objects.count()
    again = manager.post("/sites/", {"code": "hq", "name": "Again", "timezone": "UTC"})
    assert again.status_code == 400
    assert 'data-field-error="code"' in again.content.decode()
    assert "exists already" in again.content.decode()
    bad_zone = manager.post("/sites/", {"code": "x", "name": "X", "timezone": "Mars/Olympus"})
    assert bad_zone.status_code == 400
    assert 'data-field-error="timezone"' in bad_zone.content.decode()
    twice = manager.post("/sites/hq/locations/", {"code": "dock", "name": "D", "kind": "dock"})
    assert twice.status_code == 400 and "exists already at hq" in twice.content.decode()
    assert Site.objects.count() == 1 and LedgerEntry.objects.count() == entries
    missing = manager.get("/sites/nowhere/")
    assert missing.status_code == 404 and "no site &#x27;nowhere&#x27;" in missing.content.decode()


def test_editing_a_site_records_what_changed(as_role, site):
    manager = as_role(Role.SECURITY_MANAGER)
    saved = manager.post(
        "/sites/hq/edit/",
        {"name": "Head office", "timezone": "Europe/Dublin", "address": "1 Quay St"},
    )
    assert saved.status_code == 302
    site.refresh_from_db()
    assert (site.name, site.timezone, site.address) == ("Head office", "Europe/Dublin", "1 Quay St")
    entry = LedgerEntry.objects.order_by("-seq").first()
    assert entry is not None and entry.action == "directory.site.updated"
    assert '"tz":["Europe/London","Europe/Dublin"]' in entry.body
    # Saving the same values again is not a change, so nothing more reaches the ledger.
    seq = entry.seq
    manager.post(
        "/sites/hq/edit/",
        {"name": "Head office", "timezone": "Europe/Dublin", "address": "1 Quay St"},
    )
    assert LedgerEntry.objects.order_by("-seq").first().seq == seq


def test_the_menu_links_the_sites_page(as_role, site):
    body = as_role(Role.CLERK).get("/").content.decode()
    assert 'href="/sites/"' in body
