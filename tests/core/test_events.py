"""The event catalogue (``contracts.events``), its document, and the one naming scheme that
topics and ledger actions share."""

from __future__ import annotations

import ast
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import mailwarden
from mailwarden.contracts import events
from mailwarden.core import ledger

SRC = Path(mailwarden.__file__).parent
ROOT = SRC.parents[1]
# Django apps, and core: the first word of every topic and action.
APPS = {p.parent.name for p in SRC.glob("*/apps.py")}


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        if "migrations" in relative.parts:
            continue
        yield str(relative), ast.parse(path.read_text(), str(path))


def _action_param_positions(tree: ast.Module) -> dict[str, int]:
    """Functions of the module that take an ``action`` parameter, and its position."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            names = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
            if "action" in names:
                found[node.name] = names.index("action")
    return found


def _action_argument(call: ast.Call, position: int) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == "action":
            return keyword.value
    return call.args[position] if len(call.args) > position else None


def _ledger_position(call: ast.Call) -> int | None:
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        if func.value.id == "ledger" and func.attr == "append":
            return 1
        if func.value.id == "ledger" and func.attr == "Record":
            return 0
    return None


def ledger_actions_in_source() -> dict[str, list[str]]:
    """Every ledger action written in the source, with where: the action argument of
    ``ledger.append`` and ``ledger.Record``, of a module's own helpers that take an ``action``
    and pass it on, and every string assigned to a variable named ``action`` other than
    through a call."""
    found: dict[str, list[str]] = {}
    for where, tree in _modules():
        helpers = _action_param_positions(tree)
        values: list[ast.expr] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                position = _ledger_position(node)
                if position is None and isinstance(node.func, ast.Name):
                    position = helpers.get(node.func.id)
                if position is not None:
                    argument = _action_argument(node, position)
                    if argument is not None:
                        values.append(argument)
            elif (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "action" for t in node.targets)
                # A call's result (a form field, a created row) is not a name written here.
                and not isinstance(node.value, ast.Call)
            ):
                values.append(node.value)
        for value in values:
            if isinstance(value, ast.JoinedStr):
                found.setdefault(f"<f-string at {where}:{value.lineno}>", []).append(where)
            for constant in ast.walk(value):
                if isinstance(constant, ast.Constant) and isinstance(constant.value, str):
                    found.setdefault(constant.value, []).append(f"{where}:{constant.lineno}")
    return found


def untyped_emits_in_source() -> list[str]:
    """Calls to ``outbox.emit``/``emit_many`` that pass a topic string instead of a model."""
    found = []
    for where, tree in _modules():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("emit", "emit_many")
                and node.args
                and isinstance(node.args[0], ast.Constant | ast.JoinedStr)
            ):
                found.append(f"{where}:{node.lineno}")
    return found


# ----------------------------------------------------------------------------- the catalogue


def test_every_topic_follows_the_scheme_and_names_an_app():
    for topic in events.CATALOGUE:
        assert events.naming_problem(topic) is None, events.naming_problem(topic)
        assert topic.split(".")[0] in APPS, topic


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("custody.item.received", None),
        ("core.user.signed_in", None),
        ("access.door.held_open", None),
        ("token.revoke", "not <app>.<noun>.<verb>"),
        ("custody.intake", "not <app>.<noun>.<verb>"),
        ("Custody.Item.Received", "not <app>.<noun>.<verb>"),
        ("custody.item.receive", "not in the past tense"),
        ("custody.item.ready_for_pickup", "not in the past tense"),
    ],
)
def test_the_naming_scheme(name, problem):
    found = events.naming_problem(name)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_a_badly_named_event_cannot_be_defined():
    with pytest.raises(TypeError, match="past tense"):

        class _Bad(events.DomainEvent):
            TOPIC = "custody.item.receive"

    assert "custody.item.receive" not in events.CATALOGUE


def test_every_event_says_when_it_happens_and_what_each_field_means():
    for topic, model in events.CATALOGUE.items():
        assert topic == model.TOPIC
        assert model.__doc__ and len(model.__doc__.split()) >= 4, model.__name__
        assert model.model_config.get("frozen") and model.model_config.get("extra") == "forbid"
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"


def test_key_rules_name_only_the_topic_and_fields():
    keyed = {t: m for t, m in events.CATALOGUE.items() if m.KEY is not None}
    assert {"custody.item.received", "screening.alarm.raised"} <= set(keyed)
    for model in keyed.values():
        names = {f for _, f, _, _ in string.Formatter().parse(model.KEY or "") if f}
        assert names <= {"topic", *model.model_fields}, model.__name__


def test_a_key_rule_gives_the_key():
    received = events.ItemReceived(uid="MW-AAAA0000", site="hq", kind="parcel")
    assert received.idempotency_key() == "custody.item.received:MW-AAAA0000"
    moved = events.ItemQuarantined(
        uid="MW-AAAA0000", previous="awaiting_screening", location="quarantine", version=3
    )
    assert moved.idempotency_key() == "custody.item.quarantined:MW-AAAA0000:3"
    assert events.DoorForced.KEY is None


def test_every_custody_state_an_item_can_enter_has_its_event():
    from mailwarden.custody.states import TRANSITIONS, State

    entered = {target.value for targets in TRANSITIONS.values() for target in targets}
    assert set(events.TRANSITIONS) == entered
    assert events.TRANSITIONS[State.QUARANTINED.value] is events.ItemQuarantined
    for state, model in events.TRANSITIONS.items():
        assert state == model.STATE


def test_every_access_alarm_kind_has_its_event():
    from mailwarden.access.models import AlarmKind

    assert set(events.ACCESS_ALARMS) == set(AlarmKind.values)
    assert events.ACCESS_ALARMS["forced_open"] is events.DoorForced
    assert events.ACCESS_ALARMS["held_open"] is events.DoorHeld
    assert events.ACCESS_ALARMS["reader_offline"] is events.ReaderOffline


def test_a_payload_parses_back_to_its_model_and_a_wrong_one_is_refused():
    alarm = events.ScreeningAlarm(
        uid="MW-AAAA0000",
        tier="critical",
        reasons=["ticking"],
        screener="user:sam",
        decision=7,
        site="hq",
        location="dock",
    )
    assert events.parse(alarm.TOPIC, alarm.model_dump(mode="json")) == alarm
    with pytest.raises(ValueError, match="uid"):
        events.parse("custody.item.received", {"site": "hq", "kind": "parcel"})
    with pytest.raises(KeyError):
        events.parse("item.received", {"uid": "MW-AAAA0000"})


CHECK = """
import sys
import mailwarden.contracts.events
print("\\n".join(sorted(m for m in sys.modules if m.split(".")[0] in ("django", "mailwarden"))))
"""


def test_the_catalogue_loads_without_django():
    loaded = subprocess.run(
        [sys.executable, "-c", CHECK], check=True, capture_output=True, text=True
    ).stdout.split()
    assert "mailwarden.contracts.events" in loaded
    assert not [m for m in loaded if m == "django" or m.startswith("django.")], loaded


# ----------------------------------------------------------------------------- the document


def test_docs_events_md_is_up_to_date():
    written = (ROOT / "docs" / "events.md").read_text()
    assert written == events.markdown(), (
        "docs/events.md is out of date: run `mailwarden events --markdown > docs/events.md`"
    )


def test_the_command_prints_the_document_and_the_list(capsys):
    from mailwarden.cli import main

    assert main(["events", "--markdown"]) == 0
    assert capsys.readouterr().out == events.markdown()
    assert main(["events"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == len(events.CATALOGUE)
    assert "custody.item.received\tItemReceived" in listed


def test_the_module_prints_the_document():
    printed = subprocess.run(
        [sys.executable, "-m", "mailwarden.contracts.events"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert printed == events.markdown()
    for topic, model in events.CATALOGUE.items():
        assert f"### `{topic}`" in printed and f"`{model.__name__}`" in printed


# ----------------------------------------------------------------------------- the source


def test_every_ledger_action_in_the_source_follows_the_scheme():
    found = ledger_actions_in_source()
    # The scan does find the actions (a scan that finds nothing would pass anything).
    assert {
        "access.alarm.raised",
        "access.credential.issued",
        "access.quarantine.granted",
        "access.reader.tampered",
        "core.token.revoked",
        "core.user.signed_in",
        "core.user.created",
        "custody.item.received",
        "custody.item.transitioned",
        "custody.pickup_code.rejected",
        "directory.site.created",
        "screening.decision.recorded",
    } <= set(found)
    problems = {
        name: where
        for name, where in found.items()
        if events.naming_problem(name) or name.split(".")[0] not in APPS
    }
    assert problems == {}


def test_no_legacy_action_name_is_written_any_more():
    found = ledger_actions_in_source()
    assert set(found) & set(ledger.LEGACY_ACTIONS) == set()


def test_every_emit_passes_a_catalogued_model():
    assert untyped_emits_in_source() == []


# ----------------------------------------------------------------------------- legacy names


def test_legacy_names_map_to_current_names_once():
    for old, new in ledger.LEGACY_ACTIONS.items():
        assert events.naming_problem(old) is not None or old.split(".")[0] not in APPS, old
        assert events.naming_problem(new) is None, new
        assert new not in ledger.LEGACY_ACTIONS, f"{new} is itself a legacy name"


def test_current_action_and_stored_as():
    assert ledger.current_action("custody.intake") == "custody.item.received"
    assert ledger.current_action("token.revoke") == "core.token.revoked"
    assert ledger.current_action("custody.item.received") == "custody.item.received"
    assert ledger.current_action("directory.site.created") == "directory.site.created"
    assert ledger.stored_as("custody.item.transitioned") == [
        "custody.item.transitioned",
        "custody.transition",
    ]
    # A legacy name asks for the same entries as its current name.
    assert ledger.stored_as("custody.transition") == ledger.stored_as("custody.item.transitioned")
    assert ledger.stored_as("directory.site.created") == ["directory.site.created"]
