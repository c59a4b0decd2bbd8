"""The access API over HTTP: the edge's two sync operations with its device token, what that
token cannot reach, and the operations for people with their roles."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailwarden.access.models import AccessEvent, Credential, SiteRules
from mailwarden.contracts.access import EVENT_MODELS, EventBatchResult, RulesResponse
from mailwarden.core.roles import Role
from mailwarden.core.services import issue_token, revoke_token
from mailwarden.edge.decisions import Reason
from mailwarden.edge.wiegand import decode, encode
from tests.access.conftest import decision, event, state
from tests.api.conftest import Api, assert_refused, token_for
from tests.factories import ADMIN, make_site


@pytest.fixture
def edge(mailroom) -> Api:
    return Api(mailroom.token1)


@pytest.fixture
def manager(db) -> Api:
    return Api(token_for(Role.SECURITY_MANAGER))


def rules(api: Api, since: int | None = None) -> RulesResponse:
    response = api.get("/api/access/rules", **({} if since is None else {"since": since}))
    assert response.status_code == 200, response.content
    return RulesResponse.model_validate_json(response.content)


class TestEdgeSync:
    def test_rules_round_trip_into_the_engine(self, mailroom, edge, manager, frozen_clock):
        first = rules(edge)
        assert (first.up_to_date, first.version) == (False, 1)
        assert first.document.kind == "rule-snapshot" and first.document.key_id == "edge-1"
        engine = mailroom.engine()
        engine.load_snapshot(first.document.to_bytes())
        assert rules(edge, 1).model_dump() == {"up_to_date": True, "version": 1, "document": None}
        manager.post(
            "/api/access/credentials/revoke",
            {"credential_id": mailroom.bob_card.pk, "reason": "lost"},
        )
        delta = rules(edge, 1)
        assert delta.document.kind == "rule-delta" and delta.version == 2
        engine.apply_delta(delta.document.to_bytes())
        frame = encode("H10301", 10, 1002)
        swipe = decode(frame.value, frame.length)
        assert engine.decide("dock-in", swipe, frozen_clock()).reason is Reason.UNKNOWN_CREDENTIAL

    def test_the_up_to_date_answer_carries_no_document(self, edge):
        rules(edge)
        body = edge.get("/api/access/rules", since=1).json()
        assert body == {"up_to_date": True, "version": 1}

    @pytest.mark.parametrize("since", ["-1", "x", str(2**31), "1.5"])
    def test_a_bad_since_is_refused(self, edge, since):
        assert_refused(edge.get("/api/access/rules", since=since), 422, "since")

    def test_events_apply_once(self, mailroom, edge, frozen_clock):
        now = frozen_clock()
        batch = {
            "events": [
                decision(now, "dock-in", granted=False, reason="no_access"),
                event("door.event", now, door_id="dock", kind="opened"),
            ]
        }
        first = EventBatchResult.model_validate_json(edge.post("/api/access/events", batch).content)
        assert len(first.applied) == 2 and not first.rejected
        again = edge.post("/api/access/events", batch).json()
        assert again == {"applied": [], "duplicates": first.applied, "rejected": []}
        assert AccessEvent.objects.count() == 2

    def test_a_bad_item_is_rejected_alone(self, mailroom, edge, frozen_clock):
        now = frozen_clock()
        good = event("door.event", now, door_id="dock", kind="opened")
        skewed = event("door.event", now + timedelta(hours=1), door_id="dock", kind="opened")
        body = {"events": [{"key": str(uuid.uuid4()), "type": "door.event"}, skewed, good]}
        answer = edge.post("/api/access/events", body)
        assert answer.status_code == 200
        result = answer.json()
        assert result["applied"] == [good["key"]]
        assert [r["key"] for r in result["rejected"]] == [body["events"][0]["key"], skewed["key"]]
        assert "event: Field required" in result["rejected"][0]["reason"]
        assert "clock skew" in result["rejected"][1]["reason"]

    def test_a_batch_over_500_is_refused_whole(self, edge, frozen_clock):
        item = event("door.event", frozen_clock(), door_id="dock", kind="opened")
        response = edge.post("/api/access/events", {"events": [item] * 501})
        assert_refused(response, 422, "events")
        assert AccessEvent.objects.count() == 0

    def test_a_body_that_is_not_a_batch_is_refused(self, edge):
        assert_refused(edge.post("/api/access/events", {"events": "many"}), 422, "events")
        assert_refused(edge.post("/api/access/events", {}), 422, "events")


class TestDeviceTokens:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("get", "/api/items"),
            ("get", "/api/sites"),
            ("get", "/api/access/log"),
            ("get", "/api/access/controllers"),
            ("get", "/api/ledger/verify"),
            ("post", "/api/access/sites/hq/lockdown"),
        ],
    )
    def test_a_controller_token_reaches_only_its_sync_operations(
        self, mailroom, edge, method, path
    ):
        before = state()
        body = {"confirm": True}
        response = edge.get(path) if method == "get" else edge.post(path, body)
        assert_refused(response, 403, "Authorization")
        assert state() == before

    def test_the_schema_is_closed_to_it_too(self, edge):
        assert edge.get("/api/openapi.json").status_code == 401

    def test_people_and_other_devices_cannot_sync(self, mailroom, manager):
        assert_refused(manager.get("/api/access/rules"), 403, "Authorization")
        assert_refused(manager.post("/api/access/events", {"events": []}), 403, "Authorization")
        scanner = issue_token(ADMIN, name="scanner", role="clerk", device="dock-scanner")
        api = Api(scanner.secret)
        assert_refused(api.get("/api/access/rules"), 403, "Authorization")
        # A device no app claims keeps its role's reach, as a dock scanner's intake does.
        assert api.get("/api/items").status_code == 200

    def test_a_revoked_controller_token_is_refused(self, mailroom, edge):
        revoke_token(ADMIN, mailroom.edge1.token_prefix)
        assert_refused(edge.get("/api/access/rules"), 401, "Authorization")


class TestPeople:
    def test_configure_a_door_end_to_end(self, mailroom, manager):
        schedule = manager.post(
            "/api/access/sites/hq/schedules",
            {"name": "nights", "windows": [{"days": ["sat"], "start": "20:00", "end": "24:00"}]},
        )
        assert schedule.status_code == 201, schedule.content
        door = manager.post(
            "/api/access/sites/hq/doors",
            {"code": "xray", "name": "X-ray room", "location": "xray", "held_open_s": 45},
        )
        assert door.status_code == 201, door.content
        assert door.json()["location_kind"] == "screening"
        reader = manager.post(
            "/api/access/readers",
            {"controller": "edge-2", "door": "xray", "code": "xray-in", "osdp_address": 5},
        )
        assert reader.status_code == 201, reader.content
        level = manager.post(
            "/api/access/sites/hq/levels",
            {"name": "night shift", "schedule_id": schedule.json()["id"], "doors": ["xray"]},
        )
        assert level.status_code == 201, level.content
        holder = manager.post(
            "/api/access/cardholders", {"name": "Con Tractor", "kind": "contractor"}
        ).json()
        credential = manager.post(
            "/api/access/credentials",
            {
                "holder_id": holder["id"],
                "format": "C1000-35",
                "facility": 4000,
                "card": 123456,
                "level_ids": [level.json()["id"]],
                "valid_until": "2026-03-09T18:00:00+00:00",
            },
        )
        assert credential.status_code == 201, credential.content
        assert credential.json()["temporary"] is True
        modes = manager.post("/api/access/sites/hq/door-mode", {"door": "xray", "mode": "lockdown"})
        assert modes.json()["mode"] == "lockdown"
        doors = {d["code"]: d for d in manager.get("/api/access/sites/hq/doors").json()}
        assert doors["xray"]["readers"] == ["edge-2/xray-in"]

    @pytest.mark.parametrize(
        ("path", "body", "field"),
        [
            (
                "/api/access/readers",
                {"controller": "edge-2", "door": "front", "code": "r9", "osdp_address": False},
                "osdp_address",
            ),
            (
                "/api/access/sites/hq/areas",
                {"code": "inner", "mode": "hard", "reentry_s": False},
                "reentry_s",
            ),
            ("/api/access/sites/hq/doors", {"code": "d9", "held_open_s": True}, "held_open_s"),
            ("/api/access/sites/hq/doors", {"code": "d9", "unlock_s": 5.0}, "unlock_s"),
            (
                "/api/access/sites/hq/door-rules",
                {"door": "front", "first_person_level_ids": [True]},
                "first_person_level_ids",
            ),
        ],
    )
    def test_true_and_false_are_not_numbers(self, mailroom, manager, path, body, field):
        before = state()
        refused = assert_refused(manager.post(path, body), 422, field)
        assert refused["message"].endswith(("not true or false", "must be a whole number")), refused
        assert state() == before

    def test_a_cardholder_is_corrected(self, mailroom, manager):
        path = f"/api/access/cardholders/{mailroom.bob.pk}"
        response = manager.put(path, {"name": "Robert Jones", "kind": "contractor"})
        assert response.status_code == 200, response.content
        assert (response.json()["name"], response.json()["kind"]) == ("Robert Jones", "contractor")
        operator = Api(token_for(Role.SECURITY_OPERATOR))
        before = state()
        assert_refused(manager.put(path, {"name": "", "kind": "staff"}), 422, "name")
        assert_refused(
            manager.put("/api/access/cardholders/999999", {"name": "X", "kind": "staff"}),
            404,
            "holder_id",
        )
        assert operator.put(path, {"name": "Bobby", "kind": "staff"}).status_code == 403
        assert state() == before

    def test_bad_card_values_name_the_field(self, mailroom, manager):
        before = state()
        response = manager.post(
            "/api/access/credentials",
            {"holder_id": mailroom.bob.pk, "format": "H10301", "facility": 300, "card": 5},
        )
        body = assert_refused(response, 400, "facility")
        assert "0 to 255" in body["message"]
        response = manager.post(
            "/api/access/credentials",
            {"holder_id": mailroom.bob.pk, "format": "H10301", "facility": 3, "card": 70000},
        )
        assert_refused(response, 400, "card")
        response = manager.post(
            "/api/access/credentials",
            {"holder_id": mailroom.bob.pk, "kind": "pin", "pin": "12"},
        )
        assert_refused(response, 400, "pin")
        assert state() == before

    @pytest.mark.parametrize("role", [Role.CLERK, Role.SCREENER, Role.AUDITOR])
    def test_clerks_screeners_and_auditors_cannot_issue_or_lock_down(self, mailroom, role):
        api = Api(token_for(role))
        before = state()
        response = api.post(
            "/api/access/credentials",
            {"holder_id": mailroom.bob.pk, "format": "H10301", "facility": 1, "card": 5},
        )
        assert response.status_code == 403
        response = api.post("/api/access/sites/hq/lockdown", {"confirm": True})
        assert response.status_code == 403
        response = api.post("/api/access/cardholders", {"name": "Someone"})
        assert response.status_code == 403
        assert state() == before

    def test_auditors_read_the_log_and_clerks_do_not(self, mailroom):
        assert Api(token_for(Role.AUDITOR)).get("/api/access/log").status_code == 200
        assert Api(token_for(Role.CLERK)).get("/api/access/log").status_code == 403

    @pytest.mark.parametrize("value", ["0.5", "0", "1700000000", "1e9", "2026-03-02"])
    @pytest.mark.parametrize("field", ["since", "until"])
    @pytest.mark.parametrize("path", ["/api/access/log", "/api/access/reports/who-entered"])
    def test_a_moment_in_a_query_is_iso_text_never_a_number(
        self, mailroom, manager, path, field, value
    ):
        body = assert_refused(manager.get(path, **{field: value}), 422, field)
        assert "ISO 8601" in body["message"]
        assert manager.get(path, **{field: "2026-03-02T09:00:00Z"}).status_code == 200

    @pytest.mark.parametrize("value", [0, 0.5, 4102444800, "4102444800", True])
    def test_a_credential_is_valid_until_an_iso_moment_only(self, mailroom, manager, value):
        before = state()
        body = {"holder_id": mailroom.bob_card.holder_id, "pin": "4321", "kind": "pin"}
        refused = manager.post("/api/access/credentials", {**body, "valid_until": value})
        assert_refused(refused, 422, "valid_until")
        assert state() == before

    def test_lockdown_needs_confirm(self, mailroom):
        operator = Api(token_for(Role.SECURITY_OPERATOR))
        before = state()
        body = assert_refused(operator.post("/api/access/sites/hq/lockdown", {}), 400, "confirm")
        assert "confirm" in body["message"]
        assert state() == before
        locked = operator.post(
            "/api/access/sites/hq/lockdown", {"confirm": True, "reason": "drill"}
        )
        assert locked.status_code == 200 and locked.json()["lockdown"] is True
        assert SiteRules.objects.get(site=mailroom.site).lockdown
        lifted = operator.post("/api/access/sites/hq/lift-lockdown", {})
        assert lifted.json()["lockdown"] is False

    def test_who_entered_report_and_alarms(self, mailroom, edge, manager, frozen_clock):
        now = frozen_clock()
        edge.post(
            "/api/access/events",
            {
                "events": [
                    decision(
                        now,
                        "q-in",
                        granted=True,
                        reason="granted",
                        door="quarantine",
                        holder=f"H{mailroom.alice.pk}",
                    ),
                    event("door.event", now, door_id="quarantine", kind="forced_open"),
                ]
            },
        )
        since = (now - timedelta(hours=1)).isoformat()
        report = manager.get("/api/access/reports/who-entered", since=since).json()
        assert [(r["cardholder"], r["door"]) for r in report] == [
            (mailroom.alice.name, "quarantine")
        ]
        [alarm] = manager.get("/api/access/alarms").json()
        assert alarm["kind"] == "forced_open"
        done = manager.post("/api/access/alarms/acknowledge", {"alarm_id": alarm["id"]})
        assert done.json()["acknowledged_by"].startswith("user:")
        again = manager.post("/api/access/alarms/acknowledge", {"alarm_id": alarm["id"]})
        assert_refused(again, 409, "alarm")

    def test_enrolment_shows_the_secrets_once(self, mailroom):
        admin = Api(token_for(Role.ADMIN))
        response = admin.post("/api/access/controllers", {"name": "edge-3", "site": "hq"})
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["token"].startswith("mw_") and len(bytes.fromhex(body["sync_secret"])) == 32
        listed = admin.get("/api/access/controllers").json()
        assert all("sync_secret" not in c and "token" not in c for c in listed)
        assert body["sync_secret"] not in json.dumps(listed)
        assert_refused(
            Api(token_for(Role.SECURITY_MANAGER)).post(
                "/api/access/controllers", {"name": "edge-4", "site": "hq"}
            ),
            403,
            None,
        )

    def test_rekey_shows_the_new_pair_once_and_the_old_token_stops(self, mailroom, edge):
        admin = Api(token_for(Role.ADMIN))
        assert edge.get("/api/access/rules").status_code == 200
        response = admin.post("/api/access/controllers/edge-1/rekey", {"reason": "lost box"})
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["name"] == "edge-1" and body["token_prefix"] in body["token"]
        assert_refused(edge.get("/api/access/rules"), 401, "Authorization")
        assert Api(body["token"]).get("/api/access/rules").status_code == 200
        listed = admin.get("/api/access/controllers").json()
        assert body["sync_secret"] not in json.dumps(listed)

    @pytest.mark.parametrize(
        ("role", "path", "body", "status", "field"),
        [
            (Role.SECURITY_MANAGER, "edge-1", {"reason": "x"}, 403, None),
            (Role.CLERK, "edge-404", {"reason": "x"}, 403, None),
            (Role.ADMIN, "edge-404", {"reason": "x"}, 404, "name"),
            (Role.ADMIN, "edge-1", {"reason": ""}, 422, "reason"),
            (Role.ADMIN, "edge-1", {}, 422, "reason"),
        ],
    )
    def test_rekey_refusals_change_nothing(self, mailroom, role, path, body, status, field):
        api = Api(token_for(role))
        before = state()
        response = api.post(f"/api/access/controllers/{path}/rekey", body)
        assert_refused(response, status, field)
        assert state() == before

    def test_what_the_console_edits_the_api_edits_too(self, mailroom, manager, edge):
        version = rules(edge).version
        schedule = manager.put(
            f"/api/access/sites/hq/schedules/{mailroom.office.pk}",
            {"windows": [{"days": ["sat", "sun"], "start": "09:00", "end": "12:00"}]},
        )
        assert schedule.status_code == 200, schedule.content
        assert schedule.json()["windows"][0]["days"] == ["sat", "sun"]
        level = manager.put(
            f"/api/access/sites/hq/levels/{mailroom.staff.pk}",
            {"schedule_id": mailroom.always.pk, "doors": ["lobby"]},
        )
        assert level.status_code == 200, level.content
        assert level.json()["doors"] == ["lobby"] and level.json()["name"] == "staff"
        levels = manager.put(
            f"/api/access/credentials/{mailroom.bob_card.pk}/levels",
            {"level_ids": [mailroom.screeners.pk, mailroom.staff.pk]},
        )
        assert levels.status_code == 200, levels.content
        assert sorted(levels.json()["level_ids"]) == sorted(
            [mailroom.screeners.pk, mailroom.staff.pk]
        )
        added = manager.post("/api/access/sites/hq/holidays", {"date": "2026-12-25"})
        assert added.status_code == 201, added.content
        gone = manager.delete("/api/access/sites/hq/holidays/2026-12-25")
        assert gone.status_code == 204, gone.content
        assert_refused(manager.delete("/api/access/sites/hq/holidays/2026-12-25"), 404, "date")
        # Each change moved the rules on, so the edge learns of it at its next poll.
        assert rules(edge, version).version > version

    @pytest.mark.parametrize(
        ("method", "path", "body", "status", "field"),
        [
            ("put", "/api/access/sites/hq/schedules/{office}", {"windows": []}, 403, None),
            ("put", "/api/access/sites/hq/levels/{staff}", {"schedule_id": 1}, 403, None),
            ("put", "/api/access/credentials/{bob}/levels", {"level_ids": []}, 403, None),
            ("delete", "/api/access/sites/hq/holidays/2026-12-25", None, 403, None),
        ],
    )
    def test_operators_and_auditors_cannot_edit(self, mailroom, method, path, body, status, field):
        path = path.format(
            office=mailroom.office.pk, staff=mailroom.staff.pk, bob=mailroom.bob_card.pk
        )
        for role in (Role.SECURITY_OPERATOR, Role.AUDITOR):
            api = Api(token_for(role))
            before = state()
            response = api.delete(path) if method == "delete" else api.put(path, body)
            assert_refused(response, status, field)
            assert state() == before

    @pytest.mark.parametrize(
        ("edit", "status", "field"),
        [
            (lambda m: ("schedules/999999", {"windows": []}), 404, "schedule_id"),
            (
                lambda m: (
                    f"schedules/{m.office.pk}",
                    {"windows": [{"days": ["mon"], "start": "9", "end": "x"}]},
                ),
                400,
                "windows",
            ),
            (lambda m: ("levels/999999", {"schedule_id": m.always.pk}), 404, "level_id"),
            (lambda m: (f"levels/{m.staff.pk}", {"schedule_id": 999999}), 404, "schedule_id"),
            (
                lambda m: (f"levels/{m.staff.pk}", {"schedule_id": m.always.pk, "doors": ["x"]}),
                404,
                "doors",
            ),
        ],
    )
    def test_bad_edits_name_the_field_and_change_nothing(
        self, mailroom, manager, edit, status, field
    ):
        path, body = edit(mailroom)
        before = state()
        assert_refused(manager.put(f"/api/access/sites/hq/{path}", body), status, field)
        assert state() == before

    def test_credential_levels_refusals(self, mailroom, manager):
        before = state()
        path = f"/api/access/credentials/{mailroom.bob_card.pk}/levels"
        assert_refused(manager.put(path, {"level_ids": [999999]}), 404, "level_ids")
        assert_refused(
            manager.put("/api/access/credentials/999999/levels", {"level_ids": []}),
            404,
            "credential_id",
        )
        assert_refused(manager.delete("/api/access/sites/hq/holidays/2026-13-45"), 422, "day")
        assert state() == before

    @pytest.mark.parametrize("day", ["0", "1", "-1", "1735084800", "20261225", "2026-12-25T00:00"])
    def test_a_holiday_is_named_by_an_iso_date_only(self, mailroom, manager, day):
        manager.post("/api/access/sites/hq/holidays", {"date": "1970-01-01"})
        before = state()
        body = assert_refused(manager.delete(f"/api/access/sites/hq/holidays/{day}"), 422, "day")
        assert "YYYY-MM-DD" in body["message"]
        assert state() == before

    @pytest.mark.parametrize("day", [0, "0", 1735084800, "2026-12-25T00:00:00Z", True])
    def test_a_new_holiday_needs_an_iso_date(self, mailroom, manager, day):
        before = state()
        refused = manager.post("/api/access/sites/hq/holidays", {"date": day})
        assert_refused(refused, 422, "date")
        assert state() == before

    def test_credentials_never_show_a_pin_hash(self, mailroom, manager):
        listed = manager.get("/api/access/credentials").json()
        pin = Credential.objects.get(pk=mailroom.erin_pin.pk).pin_hash
        assert pin not in json.dumps(listed)
        assert {c["kind"] for c in listed} == {"card", "pin"}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.dictionaries(
    st.sampled_from(
        [
            "occurred_at",
            "reader_id",
            "door_id",
            "granted",
            "reason",
            "holder_id",
            "credential_id",
            "card",
            "snapshot_version",
            "companion_id",
            "kind",
            "online",
            "secure",
            "tampered",
            "source",
            "failed",
            "bit_length",
            "data_hex",
            "error",
            "message",
        ]
    ),
    JSON | st.datetimes(timezones=st.none() | st.just(UTC)).map(lambda d: d.isoformat()),
)
ITEMS = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {
            "key": st.uuids().map(str) | st.text(max_size=40),
            "type": st.sampled_from(sorted(EVENT_MODELS)) | st.text(max_size=20),
            "event": FIELDS,
        }
    ),
)


@pytest.fixture
def edge_api(db):
    """A controller's client that outlives hypothesis's examples (the mailroom is per test)."""
    from mailwarden.access import services

    site = make_site("fz")
    enrolment = services.doors.create_controller(ADMIN, name="fuzz-edge", site=site.code)
    return Api(enrolment.token)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(items=st.lists(ITEMS, max_size=8))
def test_any_batch_is_answered_item_by_item_never_with_a_server_error(edge_api, items):
    response = edge_api.post("/api/access/events", {"events": items})
    if not all(isinstance(i, dict) for i in items):
        assert response.status_code == 422
        return
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["applied"]) + len(body["duplicates"]) + len(body["rejected"]) == len(items)
    assert all(r["reason"] for r in body["rejected"])
