"""A database made before the directory app existed upgrades in place and keeps every row and key.

The test winds the schema back to the last release's migrations, writes data through the models
of that schema, migrates forward, and reads it back through today's models. Its codes are its
own, so rows that other tests left committed do not disturb it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from django.apps import apps as current_apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("core", "0004_notification_withdrawn"),
    ("custody", "0002_search_indexes"),
    ("screening", "0003_decision_seconds_on_item"),
    ("access", "0002_alarm_rules_and_clock"),
    ("directory", None),
]
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _migrate(targets: list[tuple[str, str | None]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection)


def _latest() -> list[tuple[str, str | None]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def old_schema(transactional_db: None) -> Iterator[MigrationExecutor]:
    executor = _migrate(BEFORE)
    try:
        yield executor
    finally:
        # Whatever happened, later tests need today's schema.
        _migrate(_latest())


def _seed_old(executor: MigrationExecutor) -> dict[str, int]:
    old = executor.loader.project_state(BEFORE[:-1]).apps
    site = old.get_model("custody", "Site").objects.create(
        code="upgrade-hq", name="Head office", timezone="Europe/London", address="1 Dock Road"
    )
    dock = old.get_model("custody", "Location").objects.create(
        site=site, code="dock", name="Dock", kind="dock"
    )
    recipient_model = old.get_model("custody", "Recipient")
    boss = recipient_model.objects.create(
        employee_id="UPG-1",
        first_name="Grace",
        last_name="Hopper",
        email="g@example.org",
        department="Research",
    )
    ada = recipient_model.objects.create(
        employee_id="UPG-2",
        first_name="Ada",
        last_name="Lovelace",
        email="a@example.org",
        department=" research ",
        manager=boss,
    )
    recipient_model.objects.create(
        employee_id="UPG-3", first_name="Alan", last_name="Turing", email="t@example.org"
    )
    item = old.get_model("custody", "MailItem").objects.create(
        uid="MW-UPGRADE1",
        site=site,
        location=dock,
        recipient=ada,
        kind="parcel",
        state="received",
        received_at=AT,
        state_changed_at=AT,
    )
    holder = old.get_model("access", "Cardholder").objects.create(
        name="Ada Lovelace", recipient=ada, created_at=AT
    )
    door = old.get_model("access", "Door").objects.create(site=site, location=dock, code="dock")
    policy = old.get_model("screening", "SitePolicy").objects.create(
        site=site, updated_at=AT, updated_by="tests"
    )
    return {
        "site": site.pk,
        "dock": dock.pk,
        "boss": boss.pk,
        "ada": ada.pk,
        "item": item.pk,
        "holder": holder.pk,
        "door": door.pk,
        "policy": policy.pk,
    }


def test_upgrade_keeps_every_row_key_and_link(old_schema: MigrationExecutor) -> None:
    # One test, since winding the schema back and forth is what costs time.
    ids = _seed_old(old_schema)
    content_type = current_apps.get_model("contenttypes", "ContentType")
    content_type.objects.get_or_create(app_label="custody", model="site")
    _migrate(_latest())

    tables = set(connection.introspection.table_names())
    assert {"directory_site", "directory_location", "directory_recipient"} <= tables
    assert not {"custody_site", "custody_location", "custody_recipient"} & tables
    assert content_type.objects.filter(app_label="directory", model="site").exists()
    assert not content_type.objects.filter(app_label="custody", model="site").exists()

    site_model = current_apps.get_model("directory", "Site")
    recipient_model = current_apps.get_model("directory", "Recipient")
    site = site_model.objects.get(pk=ids["site"])
    assert (site.code, site.name, site.timezone, site.address) == (
        "upgrade-hq",
        "Head office",
        "Europe/London",
        "1 Dock Road",
    )
    assert current_apps.get_model("directory", "Location").objects.get(pk=ids["dock"]).site == site
    assert recipient_model.objects.filter(employee_id__startswith="UPG-").count() == 3
    ada = recipient_model.objects.get(pk=ids["ada"])
    assert ada.manager_id == ids["boss"]
    # Names that differ only in case and spaces became one department; no name stays empty.
    departments = (
        current_apps.get_model("directory", "Department")
        .objects.filter(members__employee_id__startswith="UPG-")
        .distinct()
    )
    assert [d.name for d in departments] == ["Research"]
    assert ada.department == departments[0]
    assert recipient_model.objects.get(employee_id="UPG-1").department == departments[0]
    assert recipient_model.objects.get(employee_id="UPG-3").department is None

    item = current_apps.get_model("custody", "MailItem").objects.get(pk=ids["item"])
    assert (item.site_id, item.location_id, item.recipient_id) == (
        ids["site"],
        ids["dock"],
        ids["ada"],
    )
    holder = current_apps.get_model("access", "Cardholder").objects.get(pk=ids["holder"])
    assert holder.recipient_id == ids["ada"]
    door = current_apps.get_model("access", "Door").objects.get(pk=ids["door"])
    assert (door.site_id, door.location_id) == (ids["site"], ids["dock"])
    policy = current_apps.get_model("screening", "SitePolicy").objects.get(pk=ids["policy"])
    assert policy.site_id == ids["site"]
    # On PostgreSQL the identity sequence moved with the table, so it never hands out a key
    # that an old row holds.
    assert site_model.objects.create(code="upgrade-b2", name="B2").pk > ids["site"]
