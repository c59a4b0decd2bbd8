"""first_where: plain-SQL lookups that answer as the ORM would."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from mailwarden.core.models import OutboxEvent
from mailwarden.core.plainsql import first_where, insert
from mailwarden.custody.models import MailItem
from mailwarden.directory.models import Location, Recipient
from tests.factories import intake, make_recipient, make_site


@pytest.mark.django_db
def test_returns_a_model_instance_with_converted_columns(frozen_clock):
    site = make_site()
    item = intake(site, make_recipient(), tracking_number="")
    found = first_where(MailItem, "uid = %s", [item.uid])
    assert isinstance(found, MailItem)
    assert found.pk == item.pk
    assert found.received_at == frozen_clock()  # an aware datetime, as the ORM gives
    assert found.site_id == site.pk


@pytest.mark.django_db
def test_none_when_nothing_matches():
    assert first_where(Recipient, "employee_id = %s", ["nobody"]) is None


@pytest.mark.django_db
def test_datetime_parameters_compare_like_the_orm(frozen_clock):
    site = make_site()
    recipient = make_recipient()
    intake(site, recipient, tracking_number="")
    now = frozen_clock()
    for since in (now - timedelta(seconds=1), now, now + timedelta(microseconds=1)):
        orm = MailItem.objects.filter(received_at__gte=since).exists()
        assert (first_where(MailItem, "received_at >= %s", [since]) is not None) is orm


@pytest.mark.django_db
def test_order_by_picks_the_first_row():
    site = make_site()
    codes = sorted(Location.objects.filter(site=site).values_list("code", flat=True))
    first = first_where(Location, "site_id = %s", [site.pk], order_by="code")
    last = first_where(Location, "site_id = %s", [site.pk], order_by="code DESC")
    assert first is not None and last is not None
    assert (first.code, last.code) == (codes[0], codes[-1])


@pytest.mark.django_db
def test_insert_skips_a_taken_unique_value_and_writes_a_new_one():
    site = make_site()
    recipient = make_recipient()
    existing = intake(site, recipient, tracking_number="")
    fields = {
        f.attname: getattr(existing, f.attname)
        for f in MailItem._meta.concrete_fields
        if not f.primary_key
    }
    clash = MailItem(**fields)
    assert insert(clash, unless_taken="uid") is False
    assert clash.pk is None
    fresh = MailItem(**{**fields, "uid": "MW-NEW00001", "notes": "second"})
    assert insert(fresh, unless_taken="uid") is True
    # the transaction is still usable after the clash, on every database
    stored = MailItem.objects.get(pk=fresh.pk)
    assert (stored.uid, stored.notes, stored.received_at) == (
        "MW-NEW00001",
        "second",
        existing.received_at,
    )
    assert MailItem.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_insert_fills_defaults_and_a_duplicate_raises_the_orms_error(frozen_clock):
    at = frozen_clock()
    event = OutboxEvent(
        key="k-1", topic="t", payload={"uid": "MW-1"}, created_at=at, next_attempt_at=at
    )
    with transaction.atomic():
        assert insert(event) is True
    stored = OutboxEvent.objects.get(pk=event.pk)
    assert (stored.status, stored.attempts, stored.payload) == ("pending", 0, {"uid": "MW-1"})
    again = OutboxEvent(key="k-1", topic="t", payload={}, created_at=at, next_attempt_at=at)
    with pytest.raises(IntegrityError), transaction.atomic():
        insert(again)
    assert OutboxEvent.objects.count() == 1


def _plain(value: object) -> object:
    # On PostgreSQL the fields hand psycopg wrappers (Int4, Jsonb) that name the SQL type; the
    # values inside are what must agree.
    if type(value).__name__ in ("Int2", "Int4", "Int8"):
        return int(value)
    return getattr(value, "obj", value)


def _through_fields(obj) -> list[object]:
    from django.db import connection

    fields = [f for f in obj._meta.concrete_fields if f is not obj._meta.pk]
    return [_plain(f.get_db_prep_save(f.pre_save(obj, True), connection)) for f in fields]


@pytest.mark.django_db
def test_prepared_values_are_what_each_field_would_give(frozen_clock):
    from django.apps import apps
    from django.db import connection

    from mailwarden.core.plainsql import _prepared, _shape

    item = intake(make_site(), make_recipient(), tracking_number="")
    saved = [item, *MailItem.objects.all(), *OutboxEvent.objects.all()]
    saved += [m.objects.first() for m in apps.get_models() if m.objects.exists()]
    checked = 0
    for obj in filter(None, saved):
        shape = _shape(type(obj), connection.vendor)
        prepared = [_plain(v) for v in _prepared(connection, shape, obj)]
        assert prepared == _through_fields(obj), type(obj).__name__
        checked += 1
    assert checked > 10


@pytest.mark.django_db
def test_values_of_another_type_still_go_through_the_field(frozen_clock):
    from django.db import connection

    from mailwarden.core.plainsql import _prepared, _shape

    item = intake(make_site(), make_recipient(), tracking_number="")
    item.weight_g = "250"  # a form's text: the field makes it a number
    item.sender = 12  # the field makes it text
    prepared = [_plain(v) for v in _prepared(connection, _shape(MailItem, connection.vendor), item)]
    assert prepared == _through_fields(item)
    assert 250 in prepared and "12" in prepared
