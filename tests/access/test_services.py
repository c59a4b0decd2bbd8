"""Access services: validation that names the field and changes nothing, roles, lockdown."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from mailwarden.access import services
from mailwarden.access.models import Credential, PinPolicy, SiteRules
from mailwarden.contracts import events
from mailwarden.core import ledger, tokens
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.models import LedgerEntry, OutboxEvent
from mailwarden.edge import wiegand
from mailwarden.edge.rules import pin_hash
from mailwarden.edge.signing import DocumentKind, SignatureError, open_document
from tests.access.conftest import (
    AUDITOR,
    CLERK,
    MANAGER,
    OPERATOR,
    SCREENER,
    card,
    device,
    state,
)
from tests.factories import ADMIN, make_site


def issue(mailroom, **fields):
    return services.credentials.issue_credential(
        MANAGER,
        services.credentials.CredentialData(
            holder_id=mailroom.bob.pk, level_ids=[mailroom.staff.pk], **fields
        ),
    )


class TestCards:
    @pytest.mark.parametrize(
        ("fields", "field", "words"),
        [
            ({"format": "H10301", "facility": 256, "card": 1}, "facility", "0 to 255"),
            ({"format": "H10301", "facility": 1, "card": 65536}, "card", "0 to 65535"),
            ({"format": "H10304", "facility": 65536, "card": 1}, "facility", "0 to 65535"),
            ({"format": "H10304", "facility": 1, "card": 524288}, "card", "0 to 524287"),
            ({"format": "C1000-35", "facility": 4096, "card": 1}, "facility", "0 to 4095"),
            ({"format": "C1000-35", "facility": 1, "card": 1 << 20}, "card", "0 to 1048575"),
            ({"format": "H10301", "card": 5}, "facility", "facility code"),
            ({"format": "H10301", "facility": -1, "card": 5}, "facility", "0 or more"),
            ({"format": "H10301", "facility": 1}, "card", "card number"),
            ({"format": "H10301", "facility": 1, "card": 5, "bit_length": 34}, "bit_length", "26"),
            ({"format": "W99", "facility": 1, "card": 1}, "format", "H10301"),
            ({"facility": 1, "card": 1}, "format", "format"),
            ({"format": "raw", "facility": 3, "card": 1, "bit_length": 8}, "facility", "raw"),
            ({"format": "raw", "card": 1}, "bit_length", "length"),
            ({"format": "raw", "card": 256, "bit_length": 8}, "card", "8 bits"),
            ({"format": "raw", "card": 1, "bit_length": 64}, "bit_length", "63"),
            ({"bits": "10102"}, "bits", "0s and 1s"),
            ({"bits": "1" * 26}, "bits", "parity"),
            ({"bits": "1" * 30}, "bits", "30-bit"),
        ],
    )
    def test_bad_card_values_name_the_field_and_change_nothing(
        self, mailroom, fields, field, words
    ):
        before = state()
        with pytest.raises(ServiceError) as refused:
            issue(mailroom, **fields)
        assert refused.value.field == field
        assert words in refused.value.message
        assert state() == before

    @pytest.mark.parametrize(
        ("fmt", "facility", "number"),
        [("H10301", 255, 65535), ("H10304", 65535, 524287), ("C1000-35", 4095, 1048575)],
    )
    def test_each_format_at_its_limits(self, mailroom, fmt, facility, number):
        credential = issue(mailroom, format=fmt, facility=facility, card=number)
        assert (credential.format, credential.facility, credential.card) == (fmt, facility, number)
        assert credential.bit_length == wiegand.LAYOUTS[wiegand.WiegandFormat(fmt)].length

    def test_a_card_can_be_enrolled_from_the_bits_a_reader_read(self, mailroom):
        frame = wiegand.encode("H10304", 4242, 77)
        credential = issue(mailroom, bits=str(frame))
        assert (credential.format, credential.facility, credential.card) == ("H10304", 4242, 77)

    def test_raw_cards_keep_their_length(self, mailroom):
        credential = issue(mailroom, format="raw", card=0xABCDEF, bit_length=40)
        assert (credential.facility, credential.card, credential.bit_length) == (None, 0xABCDEF, 40)
        with pytest.raises(Conflict) as refused:
            issue(mailroom, format="raw", card=0xABCDEF, bit_length=48)
        assert refused.value.field == "card"

    def test_a_live_card_is_issued_once_and_again_after_revoking(self, mailroom):
        with pytest.raises(Conflict) as refused:
            card(mailroom.erin, 1002, mailroom.staff)
        assert refused.value.field == "card"
        services.credentials.revoke_credential(
            OPERATOR, mailroom.bob_card.pk, reason="lost on the bus"
        )
        again = card(mailroom.erin, 1002, mailroom.staff)
        assert again.holder == mailroom.erin


class TestPins:
    def test_only_the_edge_hash_is_stored(self, mailroom):
        credential = issue(mailroom, kind="pin", pin="97531")
        policy = PinPolicy.objects.get()
        assert credential.pin_hash == pin_hash("97531", policy.salt, policy.iterations)
        stored = Credential.objects.filter(pk=credential.pk).values()[0]
        assert "97531" not in repr(stored)
        assert not any("97531" in entry.body for entry in LedgerEntry.objects.all())

    def test_the_pin_salt_is_made_once_by_its_first_user_and_recorded(self, db):
        assert not PinPolicy.objects.exists()
        with pytest.raises(ServiceError):
            services.credentials.issue_credential(
                MANAGER,
                services.credentials.CredentialData(
                    holder_id=services.credentials.create_cardholder(MANAGER, name="Pat").pk,
                    kind="pin",
                    pin="1",
                ),
            )
        assert not PinPolicy.objects.exists()  # a refused PIN leaves no salt behind
        policy = services.credentials.ensure_pin_policy(MANAGER)
        assert services.credentials.ensure_pin_policy(OPERATOR) == policy
        [entry] = LedgerEntry.objects.filter(action="access.pin_policy.created")
        assert entry.actor == MANAGER.label
        assert ledger.entry_data(entry) == {"iterations": policy.iterations}

    @pytest.mark.parametrize("pin", ["12a4", "123", "1" * 13, "", "١٢٣٤"])
    def test_a_pin_is_four_to_twelve_ascii_digits(self, mailroom, pin):
        before = state()
        with pytest.raises(ServiceError) as refused:
            issue(mailroom, kind="pin", pin=pin)
        assert refused.value.field == "pin"
        assert state() == before

    def test_a_pin_alone_must_be_unique_but_a_card_and_pin_need_not(self, mailroom):
        with pytest.raises(Conflict) as refused:
            issue(mailroom, kind="pin", pin="4321")
        assert refused.value.field == "pin"
        both = issue(mailroom, kind="card_pin", format="H10301", facility=10, card=2000, pin="4321")
        assert both.pin_hash and both.card == 2000

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"kind": "pin", "pin": "5555", "format": "H10301", "card": 1}, "kind"),
            ({"format": "H10301", "facility": 1, "card": 1, "pin": "5555"}, "pin"),
            ({"kind": "card_pin", "format": "H10301", "facility": 1, "card": 9}, "pin"),
            ({"kind": "badge", "pin": "5555"}, "kind"),
        ],
    )
    def test_kinds_take_only_their_parts(self, mailroom, fields, field):
        with pytest.raises(ServiceError) as refused:
            issue(mailroom, **fields)
        assert refused.value.field == field


class TestValidity:
    def test_visitors_need_an_end_date(self, mailroom, frozen_clock):
        visitor = services.credentials.create_cardholder(
            MANAGER, name="Vic Visitor", kind="visitor", company="Acme"
        )
        data = services.credentials.CredentialData(
            holder_id=visitor.pk,
            format="H10301",
            facility=10,
            card=3000,
            level_ids=[mailroom.staff.pk],
        )
        with pytest.raises(ServiceError) as refused:
            services.credentials.issue_credential(MANAGER, data)
        assert (refused.value.field, "end date" in refused.value.message) == ("valid_until", True)
        data.valid_until = frozen_clock() + timedelta(hours=8)
        credential = services.credentials.issue_credential(MANAGER, data)
        assert credential.temporary

    def test_the_window_must_run_forwards_and_carry_a_zone(self, mailroom, frozen_clock):
        now = frozen_clock()
        with pytest.raises(ServiceError) as refused:
            issue(mailroom, kind="pin", pin="8642", valid_from=now, valid_until=now)
        assert refused.value.field == "valid_until"
        with pytest.raises(ServiceError) as refused:
            issue(mailroom, kind="pin", pin="8642", valid_from=now.replace(tzinfo=None))
        assert refused.value.field == "valid_from"


class TestConfiguration:
    @pytest.mark.parametrize(
        ("windows", "words"),
        [
            ([{"days": ["mon"], "start": "18:00", "end": "08:00"}], "split a window"),
            ([{"days": ["funday"], "start": "08:00", "end": "09:00"}], "windows[0].days"),
            ([{"days": ["mon"], "start": "8am", "end": "09:00"}], "HH:MM"),
            ([{"days": [], "start": "08:00", "end": "09:00"}], "windows[0].days"),
        ],
    )
    def test_bad_schedule_windows_name_the_field(self, mailroom, windows, words):
        before = state()
        with pytest.raises(ServiceError) as refused:
            services.levels.create_schedule(MANAGER, site="hq", name="bad", windows=windows)
        assert refused.value.field == "windows"
        assert words in refused.value.message
        assert state() == before

    def test_doors_and_readers_check_their_settings(self, mailroom):
        site = mailroom.site.code
        cases = [
            (
                services.doors.DoorData(site=site, code="x", mode="scheduled_unlock"),
                "unlock_schedule_id",
            ),
            (services.doors.DoorData(site=site, code="x", unlock_s=0), "unlock_s"),
            (services.doors.DoorData(site=site, code="x", held_open_s=7200), "held_open_s"),
            (services.doors.DoorData(site=site, code="x", fail_mode="fail_open"), "fail_mode"),
            (services.doors.DoorData(site=site, code="a b"), "code"),
            (services.doors.DoorData(site=site, code="dock"), "code"),
        ]
        before = state()
        for data, field in cases:
            with pytest.raises(ServiceError) as refused:
                services.doors.create_door(MANAGER, data)
            assert refused.value.field == field, data
        for kwargs, field in [
            ({"osdp_address": 127}, "osdp_address"),
            ({"osdp_address": 1}, "osdp_address"),
            ({"osdp_address": 9, "code": "q-in"}, "code"),
            ({"osdp_address": 9, "direction": "sideways"}, "direction"),
        ]:
            with pytest.raises(ServiceError) as refused:
                services.doors.create_reader(
                    MANAGER,
                    controller="edge-1",
                    door="dock",
                    **{"code": "new", **kwargs},
                )
            assert refused.value.field == field, kwargs
        with pytest.raises(ServiceError) as refused:
            services.doors.set_door_rules(MANAGER, "hq", "dock", two_person_window_s=601)
        assert refused.value.field == "two_person_window_s"
        with pytest.raises(ServiceError) as refused:
            services.doors.set_door_rules(
                MANAGER, "hq", "dock", first_person_level_ids=[mailroom.staff.pk]
            )
        assert refused.value.field == "first_person_level_ids"
        assert state() == before


class TestIdentifiers:
    """Services take what they change by its identifier; one that names nothing is refused,
    naming the input, and changes nothing."""

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            (
                lambda m: services.doors.create_door(
                    MANAGER, services.doors.DoorData("annex", "x")
                ),
                "site",
            ),
            (
                lambda m: services.doors.create_door(
                    MANAGER, services.doors.DoorData("hq", "x", "", "roof")
                ),
                "location",
            ),
            (
                lambda m: services.doors.create_door(
                    MANAGER, services.doors.DoorData("hq", "x", unlock_schedule_id=999999)
                ),
                "unlock_schedule_id",
            ),
            (
                lambda m: services.doors.create_door(
                    MANAGER, services.doors.DoorData("hq", "x", area_inside="x")
                ),
                "area_inside",
            ),
            (
                lambda m: services.doors.create_reader(
                    MANAGER, controller="edge-9", door="dock", code="r", osdp_address=9
                ),
                "controller",
            ),
            (
                lambda m: services.doors.create_reader(
                    MANAGER, controller="edge-2", door="nowhere", code="r", osdp_address=9
                ),
                "door",
            ),
            (
                lambda m: services.doors.set_door_rules(
                    MANAGER, "hq", "dock", lockdown_level_ids=[999999]
                ),
                "lockdown_level_ids",
            ),
            (
                lambda m: services.levels.set_level(
                    MANAGER, "hq", 999999, schedule_id=m.office.pk, doors=[]
                ),
                "level_id",
            ),
            (
                lambda m: services.levels.update_schedule(MANAGER, "hq", 999999, windows=[]),
                "schedule_id",
            ),
            (
                lambda m: services.credentials.issue_credential(
                    MANAGER,
                    services.credentials.CredentialData(holder_id=999999, kind="pin", pin="2468"),
                ),
                "holder_id",
            ),
            (
                lambda m: services.credentials.issue_credential(
                    MANAGER,
                    services.credentials.CredentialData(
                        holder_id=m.bob.pk, kind="pin", pin="2468", level_ids=[999999]
                    ),
                ),
                "level_ids",
            ),
            (
                lambda m: services.credentials.create_cardholder(MANAGER, employee_id="E404"),
                "employee_id",
            ),
            (
                lambda m: services.credentials.revoke_credential(MANAGER, 999999, reason="x"),
                "credential_id",
            ),
            (lambda m: services.alarms.acknowledge_alarm(MANAGER, 999999), "alarm_id"),
            (lambda m: services.lockdown.lockdown_site(MANAGER, "annex", True), "site"),
            (lambda m: services.sync.sync_rules(ADMIN, "edge-9", None), "controller"),
        ],
    )
    def test_an_unknown_one_names_its_input_and_changes_nothing(self, mailroom, change, field):
        before = state()
        with pytest.raises(NotFound) as refused:
            change(mailroom)
        assert refused.value.field == field
        assert state() == before

    def test_what_belongs_to_another_site_is_not_found_there(self, mailroom):
        make_site("annex")
        annex = services.levels.create_schedule(
            MANAGER, site="annex", name="annex hours", windows=[]
        )
        before = state()
        with pytest.raises(NotFound) as refused:
            services.levels.create_level(
                MANAGER, site="annex", name="annex", schedule_id=annex.pk, doors=["dock"]
            )
        assert (refused.value.field, refused.value.message) == ("doors", "no door 'dock' at annex")
        with pytest.raises(NotFound) as refused:
            services.doors.set_door_mode(
                MANAGER, "hq", "dock", "scheduled_unlock", unlock_schedule_id=annex.pk
            )
        assert refused.value.field == "unlock_schedule_id"
        assert state() == before


class TestCardholderDetails:
    def test_a_correction_is_on_the_ledger_with_old_and_new(self, mailroom):
        bob = mailroom.bob
        before_name, before_kind = bob.name, bob.kind
        holder = services.credentials.update_cardholder(
            MANAGER, bob.pk, name="  Robert Jones ", kind="contractor", company="Acme"
        )
        assert (holder.name, holder.kind, holder.company) == ("Robert Jones", "contractor", "Acme")
        entry = LedgerEntry.objects.filter(action="access.cardholder.updated").get()
        assert (entry.subject_type, entry.subject_id) == ("cardholder", str(bob.pk))
        assert ledger.entry_data(entry)["changed"] == {
            "name": [before_name, "Robert Jones"],
            "kind": [before_kind, "contractor"],
            "company": ["", "Acme"],
        }
        # The same values again change nothing and record nothing.
        services.credentials.update_cardholder(
            MANAGER, holder.pk, name="Robert Jones", kind="contractor", company="Acme"
        )
        assert LedgerEntry.objects.filter(action="access.cardholder.updated").count() == 1

    @pytest.mark.parametrize(
        ("name", "kind", "field"), [(" ", "staff", "name"), ("Bob", "alien", "kind")]
    )
    def test_bad_details_name_the_field_and_change_nothing(self, mailroom, name, kind, field):
        before = state()
        with pytest.raises(ServiceError) as refused:
            services.credentials.update_cardholder(MANAGER, mailroom.bob.pk, name=name, kind=kind)
        assert refused.value.field == field
        assert state() == before


class TestRoles:
    @pytest.mark.parametrize("actor", [CLERK, SCREENER, AUDITOR, OPERATOR], ids=lambda a: a.name)
    def test_only_managers_issue_credentials(self, mailroom, actor):
        before = state()
        data = services.credentials.CredentialData(
            holder_id=mailroom.bob.pk, format="H10301", facility=10, card=4000
        )
        with pytest.raises(Forbidden):
            services.credentials.issue_credential(actor, data)
        with pytest.raises(Forbidden):
            services.credentials.create_cardholder(actor, name="Nobody")
        with pytest.raises(Forbidden):
            services.credentials.update_cardholder(
                actor, mailroom.bob.pk, name="Robert", kind="staff"
            )
        assert state() == before

    @pytest.mark.parametrize("actor", [CLERK, SCREENER, AUDITOR], ids=lambda a: a.name)
    def test_clerks_screeners_and_auditors_cannot_lock_down(self, mailroom, actor):
        before = state()
        with pytest.raises(Forbidden):
            services.lockdown.lockdown_site(actor, mailroom.site.code, True)
        with pytest.raises(Forbidden):
            services.credentials.revoke_credential(actor, mailroom.bob_card.pk, reason="x")
        assert state() == before

    def test_a_device_cannot_change_anything_even_with_an_operator_role(self, mailroom):
        before = state()
        edge = device(mailroom.edge1)
        with pytest.raises(Forbidden) as refused:
            services.lockdown.lockdown_site(edge, mailroom.site.code, True)
        assert refused.value.field == "Authorization"
        with pytest.raises(Forbidden):
            services.credentials.revoke_credential(edge, mailroom.bob_card.pk, reason="x")
        with pytest.raises(Forbidden):
            services.sync.sync_rules(device(mailroom.edge2), mailroom.edge1.name, None)
        assert state() == before

    def test_enrolling_a_controller_is_for_administrators(self, mailroom):
        with pytest.raises(Forbidden):
            services.doors.create_controller(MANAGER, name="edge-9", site="hq")


class TestRekey:
    def test_the_old_pair_stops_working_and_the_new_one_works(self, mailroom):
        edge = mailroom.edge1
        old_prefix, old_secret = edge.token_prefix, bytes.fromhex(edge.sync_secret)
        version = SiteRules.objects.get(site=mailroom.site).version
        enrolment = services.doors.rekey_controller(ADMIN, edge.name, reason="box left unattended")
        assert tokens.authenticate(mailroom.token1) is None
        assert tokens.authenticate(enrolment.token).name == edge.name
        assert tokens.authenticate(mailroom.token2).name == mailroom.edge2.name
        edge.refresh_from_db()
        assert edge.token_prefix == enrolment.token.split("_")[1] != old_prefix
        new_secret = bytes.fromhex(enrolment.sync_secret)
        assert len(new_secret) == 32 and new_secret != old_secret
        document = services.sync.sync_rules(device(edge), edge.name, None).document
        assert open_document(document, {edge.name: new_secret}, DocumentKind.SNAPSHOT)
        with pytest.raises(SignatureError):
            open_document(document, {edge.name: old_secret}, DocumentKind.SNAPSHOT)
        assert SiteRules.objects.get(site=mailroom.site).version == version + 1
        [entry] = [
            e
            for e in ledger.entries_for("controller", edge.name)
            if e.action == "access.controller.rekeyed"
        ]
        data = ledger.entry_data(entry)
        assert data["revoked_tokens"] == [old_prefix]
        assert data["reason"] == "box left unattended"
        assert enrolment.sync_secret not in json.dumps(data)

    @pytest.mark.parametrize("who", [MANAGER, OPERATOR])
    def test_only_administrators_rekey(self, mailroom, who):
        before = state()
        with pytest.raises(Forbidden):
            services.doors.rekey_controller(who, mailroom.edge1.name, reason="lost")
        with pytest.raises(Forbidden):
            services.doors.rekey_controller(
                device(mailroom.edge1), mailroom.edge1.name, reason="lost"
            )
        assert state() == before
        assert tokens.authenticate(mailroom.token1).name == mailroom.edge1.name

    def test_it_needs_a_reason(self, mailroom):
        before = state()
        with pytest.raises(ServiceError) as refused:
            services.doors.rekey_controller(ADMIN, mailroom.edge1.name, reason="  ")
        assert refused.value.field == "reason"
        assert state() == before


class TestLockdown:
    def test_it_needs_confirmation(self, mailroom):
        before = state()
        with pytest.raises(ServiceError) as refused:
            services.lockdown.lockdown_site(OPERATOR, mailroom.site.code, False)
        assert refused.value.field == "confirm"
        assert "confirm" in refused.value.message
        assert state() == before

    def test_lock_down_and_lift(self, mailroom):
        rules = services.lockdown.lockdown_site(
            OPERATOR, mailroom.site.code, True, reason="suspect package"
        )
        assert rules.lockdown and rules.lockdown_by == "user:otto"
        with pytest.raises(Conflict):
            services.lockdown.lockdown_site(OPERATOR, mailroom.site.code, True)
        lifted = services.lockdown.lift_lockdown(MANAGER, mailroom.site.code)
        assert not lifted.lockdown and lifted.version == rules.version + 1
        with pytest.raises(Conflict):
            services.lockdown.lift_lockdown(MANAGER, mailroom.site.code)
        actions = list(
            LedgerEntry.objects.filter(action__startswith="access.lockdown").values_list(
                "action", flat=True
            )
        )
        assert actions == ["access.lockdown.started", "access.lockdown.lifted"]
        topics = set(OutboxEvent.objects.values_list("topic", flat=True))
        assert {"access.lockdown.started", "access.lockdown.lifted"} <= topics
        [lifted_event] = OutboxEvent.objects.filter(topic="access.lockdown.lifted")
        parsed = events.parse(lifted_event.topic, lifted_event.payload)
        assert isinstance(parsed, events.LockdownLifted)
        assert (parsed.subject, parsed.site, parsed.rules_version) == (
            f"site:{mailroom.site.code}",
            mailroom.site.code,
            lifted.version,
        )
        assert parsed.since == rules.lockdown_at and parsed.reason == ""
        assert SiteRules.objects.get(site=mailroom.site).lockdown is False
