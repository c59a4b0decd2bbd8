"""The editors: cardholders, credentials (issue, levels, revoke), access levels, schedules and
holidays. Each change goes through the services; a refusal shows next to the field it names."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from mailwarden.access import services
from mailwarden.access.models import (
    AccessLevel,
    Cardholder,
    Credential,
    Holiday,
    Schedule,
    SiteRules,
)
from mailwarden.core.roles import Role
from tests.factories import make_recipient

from .conftest import MANAGER_ACTOR, state


def field_error(body: str, field: str) -> str:
    found = re.search(rf'data-field-error="{field}">([^<]*)<', body)
    assert found, f"no error shown at {field}"
    return found.group(1)


@pytest.fixture
def manager(as_role):
    return as_role(Role.SECURITY_MANAGER)


class TestCardholders:
    def test_a_manager_adds_a_cardholder_linked_to_an_employee(self, manager, mailroom):
        person = make_recipient(first_name="Grace", last_name="Hopper")
        response = manager.post(
            "/access/cardholders/new/",
            {"name": "", "kind": "staff", "company": "", "recipient": person.employee_id},
        )
        holder = Cardholder.objects.get(recipient=person)
        assert response.status_code == 302
        assert response["Location"] == f"/access/cardholders/{holder.pk}/"
        # With no name typed, the employee's name is taken.
        assert holder.name == "Grace Hopper"
        page = manager.get(response["Location"]).content.decode()
        assert "Grace Hopper added" in page
        listing = manager.get("/access/cardholders/?q=hopper").content.decode()
        assert f'data-holder="{holder.pk}"' in listing

    def test_refusals_name_the_field(self, manager, mailroom):
        before = state()
        response = manager.post("/access/cardholders/new/", {"kind": "staff", "recipient": "E404"})
        assert response.status_code == 400
        assert field_error(response.content.decode(), "recipient") == "no employee with ID E404"
        response = manager.post("/access/cardholders/new/", {"kind": "staff", "name": " "})
        assert response.status_code == 400
        # The service's own refusal, placed at the field it names.
        assert "needs a name" in field_error(response.content.decode(), "name")
        assert state() == before

    def test_a_manager_corrects_a_cardholders_details(self, manager, as_role, mailroom):
        bob = mailroom.bob
        page = manager.get(f"/access/cardholders/{bob.pk}/").content.decode()
        assert f'href="/access/cardholders/{bob.pk}/edit/" data-edit-holder' in page
        form = manager.get(f"/access/cardholders/{bob.pk}/edit/").content.decode()
        assert f'value="{bob.name}"' in form
        response = manager.post(
            f"/access/cardholders/{bob.pk}/edit/",
            {"name": "Robert Jones", "kind": "contractor", "company": "Acme"},
        )
        assert response.status_code == 302
        assert response["Location"] == f"/access/cardholders/{bob.pk}/"
        bob.refresh_from_db()
        assert (bob.name, bob.kind, bob.company) == ("Robert Jones", "contractor", "Acme")
        assert "Robert Jones saved." in manager.get(response["Location"]).content.decode()
        # An operator sees the cardholder but neither the link nor the form.
        operator = as_role(Role.SECURITY_OPERATOR)
        assert (
            "data-edit-holder"
            not in operator.get(f"/access/cardholders/{bob.pk}/").content.decode()
        )
        assert operator.get(f"/access/cardholders/{bob.pk}/edit/").status_code == 403

    def test_an_empty_name_is_refused_at_its_field(self, manager, mailroom):
        before = state()
        response = manager.post(
            f"/access/cardholders/{mailroom.bob.pk}/edit/", {"name": " ", "kind": "staff"}
        )
        assert response.status_code == 400
        assert field_error(response.content.decode(), "name")
        assert state() == before


class TestCredentials:
    def issue(self, client, holder, **data):
        return client.post(f"/access/cardholders/{holder.pk}/issue/", data)

    def test_a_card_is_issued_with_levels(self, manager, mailroom):
        m = mailroom
        version = SiteRules.objects.get(site=m.site).version
        response = self.issue(
            manager,
            m.bob,
            kind="card",
            format="H10301",
            facility="10",
            card="2002",
            levels=[str(m.staff.pk), str(m.screeners.pk)],
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        card = Credential.objects.get(card=2002)
        assert (card.holder, card.format, card.facility) == (m.bob, "H10301", 10)
        assert set(card.levels.all()) == {m.staff, m.screeners}
        # The controllers learn of it at their next poll: the site's rules moved on.
        assert SiteRules.objects.get(site=m.site).version > version
        page = manager.get(response["Location"]).content.decode()
        assert "H10301 10/2002 issued to Bob Baker" in page

    def test_a_pin_is_kept_only_as_its_hash(self, manager, mailroom):
        response = self.issue(
            manager, mailroom.bob, kind="pin", pin="86420", levels=[str(mailroom.staff.pk)]
        )
        assert response.status_code == 302
        pin = Credential.objects.get(holder=mailroom.bob, kind="pin")
        assert pin.card is None and len(pin.pin_hash) == 64 and "86420" not in pin.pin_hash

    @pytest.mark.parametrize(
        ("data", "field", "message"),
        [
            ({"facility": "300", "card": "5"}, "facility", "the facility code must be 0 to 255"),
            ({"facility": "10", "card": "70000"}, "card", "the card number must be 0 to 65535"),
            ({"facility": "10", "card": "1001"}, "card", "already issued"),
            ({"facility": "10"}, "card", "a card needs its card number"),
            ({"kind": "pin", "pin": "12"}, "pin", "a PIN is 4 to 12 digits"),
            (
                {
                    "facility": "10",
                    "card": "9",
                    "valid_from": "2026-03-05T10:00",
                    "valid_until": "2026-03-04T10:00",
                },
                "valid_until",
                "must be after valid_from",
            ),
        ],
        ids=["facility", "card-range", "card-taken", "card-missing", "pin", "dates"],
    )
    def test_refusals_name_the_field_and_change_nothing(
        self, manager, mailroom, data, field, message
    ):
        before = state()
        body = {"kind": "card", "format": "H10301", **data}
        response = self.issue(manager, mailroom.bob, **body)
        assert response.status_code == 400
        assert message in field_error(response.content.decode(), field)
        assert state() == before

    def test_a_visitor_needs_an_end_date_in_site_time(self, manager, mailroom):
        visitor = services.credentials.create_cardholder(
            MANAGER_ACTOR, name="Vic Visitor", kind="visitor"
        )
        refused = self.issue(
            manager, visitor, kind="card", format="H10301", facility="10", card="77"
        )
        assert "needs an end date" in field_error(refused.content.decode(), "valid_until")
        # Typed in the site's time (London, BST in July): 18:00 there is 17:00 UTC.
        response = self.issue(
            manager,
            visitor,
            kind="card",
            format="H10301",
            facility="10",
            card="77",
            levels=[str(mailroom.staff.pk)],
            valid_until="2026-07-01T18:00",
        )
        assert response.status_code == 302
        card = Credential.objects.get(card=77)
        assert card.valid_until == datetime(2026, 7, 1, 17, 0, tzinfo=UTC)
        assert card.temporary

    def test_levels_are_changed_on_the_credential_page(self, manager, mailroom):
        m = mailroom
        response = manager.post(
            f"/access/credentials/{m.bob_card.pk}/levels/", {"levels": [str(m.screeners.pk)]}
        )
        assert response.status_code == 302
        assert list(m.bob_card.levels.all()) == [m.screeners]

    def test_revoking_needs_a_reason_then_takes_the_card_away(self, as_role, mailroom):
        operator = as_role(Role.SECURITY_OPERATOR)
        m = mailroom
        page = operator.get(f"/access/cardholders/{m.bob.pk}/").content.decode()
        # The list offers a confirmation dialog; operators may revoke but not issue.
        assert f'data-open-dialog="revoke-{m.bob_card.pk}"' in page
        assert "Issue a credential" not in page
        before = state()
        refused = operator.post(f"/access/credentials/{m.bob_card.pk}/revoke/", {"reason": ""})
        assert refused.status_code == 400
        assert field_error(refused.content.decode(), "reason") == "This field is required."
        assert state() == before
        done = operator.post(f"/access/credentials/{m.bob_card.pk}/revoke/", {"reason": "lost"})
        assert done.status_code == 302 and done["Location"] == f"/access/cardholders/{m.bob.pk}/"
        m.bob_card.refresh_from_db()
        assert m.bob_card.revoked_at is not None and m.bob_card.revoked_reason == "lost"
        again = operator.post(f"/access/credentials/{m.bob_card.pk}/revoke/", {"reason": "lost"})
        assert "revoked already" in field_error(again.content.decode(), "reason")
        listing = operator.get("/access/credentials/?status=revoked").content.decode()
        assert f'data-credential="{m.bob_card.pk}"' in listing
        assert "Revoked" in listing


class TestLevelsAndSchedules:
    def test_a_level_is_doors_times_a_schedule(self, manager, mailroom):
        m = mailroom
        response = manager.post(
            "/access/levels/new/",
            {
                "site": "hq",
                "name": "night shift",
                "schedule": str(m.always.pk),
                "doors": [str(m.dock.pk), str(m.lobby.pk)],
            },
        )
        assert response.status_code == 302
        level = AccessLevel.objects.get(name="night shift")
        assert set(level.doors.all()) == {m.dock, m.lobby} and level.schedule == m.always
        edited = manager.post(
            f"/access/levels/{level.pk}/edit/",
            {"schedule": str(m.office.pk), "doors": [str(m.dock.pk)]},
        )
        assert edited.status_code == 302
        level.refresh_from_db()
        assert list(level.doors.all()) == [m.dock] and level.schedule == m.office
        duplicate = manager.post(
            "/access/levels/new/",
            {"site": "hq", "name": "night shift", "schedule": str(m.always.pk)},
        )
        assert "exists already" in field_error(duplicate.content.decode(), "name")
        listing = manager.get("/access/levels/?site=hq").content.decode()
        assert "night shift" in listing

    def test_a_schedule_is_rows_of_days_and_times(self, manager, mailroom):
        response = manager.post(
            "/access/schedules/new/",
            {
                "site": "hq",
                "name": "cleaners",
                "w0_days": ["mon", "tue", "wed", "thu", "fri"],
                "w0_start": "06:00",
                "w0_end": "08:00",
                "w2_days": ["sat"],
                "w2_start": "07:00",
                "w2_end": "09:30",
                "h0_start": "07:00",
                "h0_end": "08:00",
            },
        )
        assert response.status_code == 302
        schedule = Schedule.objects.get(name="cleaners")
        assert schedule.windows == [
            {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "06:00", "end": "08:00"},
            {"days": ["sat"], "start": "07:00", "end": "09:30"},
        ]
        assert schedule.holiday_windows == [{"start": "07:00", "end": "08:00"}]
        listing = manager.get("/access/schedules/?site=hq").content.decode()
        assert "Mon\u2013Fri 06:00\u201308:00" in listing

    def test_a_bad_window_is_refused_at_its_own_row(self, manager, mailroom):
        m = mailroom
        before = state()
        response = manager.post(
            f"/access/schedules/{m.office.pk}/edit/",
            {
                "w0_days": ["mon"],
                "w0_start": "08:00",
                "w0_end": "18:00",
                "w1_days": ["tue"],
                "w1_start": "18:00",
                "w1_end": "08:00",
            },
        )
        assert response.status_code == 400
        # The second row sent is the one that ends before it starts.
        assert "must end after it starts" in field_error(response.content.decode(), "w1_end")
        no_days = manager.post(
            f"/access/schedules/{m.office.pk}/edit/", {"w0_start": "08:00", "w0_end": "18:00"}
        )
        assert field_error(no_days.content.decode(), "w0_days")
        bad_time = manager.post(
            f"/access/schedules/{m.office.pk}/edit/",
            {"w0_days": ["mon"], "w0_start": "8 am", "w0_end": "18:00"},
        )
        assert "not HH:MM" in field_error(bad_time.content.decode(), "w0_start")
        assert state() == before

    def test_holidays_are_added_and_removed(self, manager, mailroom):
        added = manager.post(
            "/access/schedules/holidays/", {"site": "hq", "date": "2026-12-25", "name": "Christmas"}
        )
        assert added.status_code == 302
        assert Holiday.objects.get().date == date(2026, 12, 25)
        twice = manager.post("/access/schedules/holidays/", {"site": "hq", "date": "2026-12-25"})
        assert twice.status_code == 400
        assert "already a holiday" in field_error(twice.content.decode(), "date")
        removed = manager.post(
            "/access/schedules/holidays/remove/", {"site": "hq", "date": "2026-12-25"}
        )
        assert removed.status_code == 302
        assert not Holiday.objects.exists()
