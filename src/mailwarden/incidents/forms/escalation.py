"""Console forms of escalation and on-call.

A policy's targets are written one per line, as ``user:mona``, ``role:security_operator``
(at the incident's site) or ``role:security_operator@all``, ``schedule:Night desk``,
``webhook:soc`` and ``mqtt:mailwarden/pages/hq``; a schedule's members as usernames in order.
The forms only read the text into requests; the services judge them and name the field at
fault, which :func:`field_for` maps back onto the form.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from mailwarden.directory.models import Site
from mailwarden.incidents.models import (
    AlarmRule,
    IncidentSeverity,
    IncidentType,
    OnCallSchedule,
    RotationKind,
)
from mailwarden.incidents.services import escalation as services

LEVEL_ROWS = 4
LAYER_ROWS = 3
TARGET_HELP = (
    "One per line: user:NAME, role:ROLE (at the site) or role:ROLE@all, schedule:NAME, "
    "webhook:ENDPOINT, mqtt:mailwarden/TOPIC"
)


def _user_ids(names: list[str]) -> tuple[list[int], list[str]]:
    users = {u.get_username(): u.pk for u in get_user_model().objects.filter(username__in=names)}
    return [users[n] for n in names if n in users], [n for n in names if n not in users]


def parse_targets(text: str) -> list[services.TargetRequest]:
    """Read target lines; raises forms.ValidationError naming the line it cannot read."""
    found: list[services.TargetRequest] = []
    for n, raw in enumerate(text.replace(",", "\n").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        kind, sep, value = line.partition(":")
        kind, value = kind.strip().lower(), value.strip()
        if not sep or not value:
            raise forms.ValidationError(f"line {n}: write KIND:VALUE, such as user:mona")
        if kind == "user":
            ids, missing = _user_ids([value])
            if missing:
                raise forms.ValidationError(f"line {n}: no user {value!r}")
            found.append(services.TargetRequest(kind="user", user_id=ids[0]))
        elif kind == "role":
            role, _, scope = value.partition("@")
            found.append(
                services.TargetRequest(
                    kind="role", role=role.strip(), role_scope=scope.strip() or "site"
                )
            )
        elif kind == "schedule":
            schedule = OnCallSchedule.objects.filter(name=value).first()
            if schedule is None:
                raise forms.ValidationError(f"line {n}: no on-call schedule {value!r}")
            found.append(services.TargetRequest(kind="schedule", schedule_id=schedule.pk))
        elif kind in ("webhook", "mqtt"):
            found.append(services.TargetRequest(kind=kind, address=value))
        else:
            raise forms.ValidationError(
                f"line {n}: {kind!r} is not user, role, schedule, webhook or mqtt"
            )
    return found


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


class PolicyForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    repeat = forms.IntegerField(
        min_value=0, max_value=9, initial=0, help_text="Runs of the whole policy after the first."
    )
    incident_types = forms.MultipleChoiceField(
        required=False,
        choices=IncidentType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every type.",
    )
    site = forms.ChoiceField(required=False)
    min_severity = forms.TypedChoiceField(
        coerce=int,
        choices=IncidentSeverity.choices,
        initial=IncidentSeverity.SEV4,
        label="Incidents this severe or worse",
    )
    alarm_rules = forms.TypedMultipleChoiceField(
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        label="Alarm rules that page with it",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", "Every site")] + [  # type: ignore[attr-defined]
            (s.code, s.name) for s in Site.objects.order_by("name")
        ]
        rules = [
            (r.pk, f"{r.name} ({r.get_action_display().lower()})") for r in AlarmRule.objects.all()
        ]
        self.fields["alarm_rules"].choices = rules  # type: ignore[attr-defined]
        if not rules:
            self.fields["alarm_rules"].help_text = "No alarm rules yet."
        for n in range(1, LEVEL_ROWS + 1):
            self.fields[f"level{n}_targets"] = forms.CharField(
                label=f"Level {n} targets",
                required=False,
                max_length=4000,
                widget=forms.Textarea(attrs={"rows": 3}),
                help_text=TARGET_HELP if n == 1 else "",
            )
            self.fields[f"level{n}_delay"] = forms.IntegerField(
                label=f"Level {n}: minutes before the next level",
                initial=15,
                required=False,
            )
            self.fields[f"level{n}_quorum"] = forms.IntegerField(
                label=f"Level {n}: acknowledgements needed", initial=1, required=False
            )

    def levels(self) -> list[tuple[int, list[tuple[str, Any]]]]:
        return [
            (
                n,
                [
                    ("targets", self[f"level{n}_targets"]),
                    ("delay", self[f"level{n}_delay"]),
                    ("quorum", self[f"level{n}_quorum"]),
                ],
            )
            for n in range(1, LEVEL_ROWS + 1)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.level_rows: list[int] = []
        for n in range(1, LEVEL_ROWS + 1):
            text = data.get(f"level{n}_targets") or ""
            try:
                data[f"level{n}_parsed"] = parse_targets(text)
            except forms.ValidationError as exc:
                self.add_error(f"level{n}_targets", exc)
                continue
            if data[f"level{n}_parsed"]:
                self.level_rows.append(n)
        return data

    def request(self) -> services.PolicyRequest:
        data = self.cleaned_data
        types = data.get("incident_types") or [""]
        matches = [
            services.MatchRequest(
                incident_type=t, site=data.get("site") or None, min_severity=data["min_severity"]
            )
            for t in types
        ]
        return services.PolicyRequest(
            name=data["name"],
            description=data.get("description") or "",
            repeat=data["repeat"],
            levels=[
                services.LevelRequest(
                    targets=data[f"level{n}_parsed"],
                    delay_minutes=_or(data.get(f"level{n}_delay"), 15),
                    quorum=data.get(f"level{n}_quorum") or 1,
                )
                for n in self.level_rows
            ],
            matches=matches,
            alarm_rules=data.get("alarm_rules") or [],
        )

    def field_for(self, service_field: str | None) -> str | None:
        """The form field a service's field name points at (None: the whole form)."""
        if not service_field:
            return None
        parts = service_field.split(".")
        if parts[0] == "levels" and len(parts) > 1 and parts[1].isdigit():
            rows = getattr(self, "level_rows", [])
            index = int(parts[1])
            if index < len(rows):
                n = rows[index]
                suffix = {"delay_minutes": "delay", "quorum": "quorum"}.get(
                    parts[2] if len(parts) > 2 else "", "targets"
                )
                return f"level{n}_{suffix}"
            return "level1_targets"
        if parts[0] == "matches":
            tail = parts[-1]
            return {"site": "site", "min_severity": "min_severity"}.get(tail, "incident_types")
        return parts[0] if parts[0] in self.fields else None


def policy_initial(policy: Any) -> dict[str, Any]:
    """The form's values for an existing policy."""
    initial: dict[str, Any] = {
        "name": policy.name,
        "description": policy.description,
        "repeat": policy.repeat,
        "alarm_rules": [r.pk for r in policy.alarm_rules.all()],
    }
    matches = list(policy.matches.all())
    if matches:
        initial["incident_types"] = [m.incident_type for m in matches if m.incident_type]
        initial["site"] = matches[0].site.code if matches[0].site else ""
        initial["min_severity"] = matches[0].min_severity
    for n, level in enumerate(policy.levels.all(), start=1):
        if n > LEVEL_ROWS:
            break
        lines = []
        for t in level.targets.all():
            if t.kind == "user":
                lines.append(f"user:{t.user.get_username() if t.user else ''}")
            elif t.kind == "role":
                lines.append(f"role:{t.role}{'@all' if t.role_scope == 'all' else ''}")
            elif t.kind == "schedule":
                lines.append(f"schedule:{t.schedule.name if t.schedule else ''}")
            else:
                lines.append(f"{t.kind}:{t.address}")
        initial[f"level{n}_targets"] = "\n".join(lines)
        initial[f"level{n}_delay"] = level.delay_minutes
        initial[f"level{n}_quorum"] = level.quorum
    return initial


class ScheduleForm(forms.Form):
    name = forms.CharField(max_length=120)
    timezone = forms.CharField(max_length=64, initial="UTC", help_text="An IANA time zone.")
    description = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for n in range(1, LAYER_ROWS + 1):
            self.fields[f"layer{n}_name"] = forms.CharField(
                label=f"Rotation {n} name", required=False, max_length=120
            )
            self.fields[f"layer{n}_kind"] = forms.ChoiceField(
                label="Hands off", choices=RotationKind.choices, required=False
            )
            self.fields[f"layer{n}_hours"] = forms.IntegerField(
                label="Hours per shift (every N hours)", required=False, initial=12
            )
            self.fields[f"layer{n}_starts"] = forms.DateTimeField(
                label="First handoff (local time)",
                required=False,
                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
            )
            self.fields[f"layer{n}_members"] = forms.CharField(
                label="Members in order (usernames)", required=False, max_length=2000
            )

    def layers(self) -> list[tuple[int, list[Any]]]:
        return [
            (n, [self[f"layer{n}_{k}"] for k in ("name", "kind", "hours", "starts", "members")])
            for n in range(1, LAYER_ROWS + 1)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        zone_name = data.get("timezone") or "UTC"
        try:
            zone = zoneinfo.ZoneInfo(zone_name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.add_error("timezone", f"{zone_name!r} is not an IANA time zone")
            return data
        self.layer_rows: list[int] = []
        for n in range(1, LAYER_ROWS + 1):
            name = data.get(f"layer{n}_name") or ""
            members = [
                m.strip() for m in (data.get(f"layer{n}_members") or "").split(",") if m.strip()
            ]
            if not name and not members:
                continue
            ids, missing = _user_ids(members)
            if missing:
                self.add_error(f"layer{n}_members", f"no user {', '.join(missing)}")
                continue
            starts: datetime | None = data.get(f"layer{n}_starts")
            if starts is None:
                self.add_error(f"layer{n}_starts", "give the first handoff")
                continue
            data[f"layer{n}_request"] = services.LayerRequest(
                name=name,
                kind=data.get(f"layer{n}_kind") or "weekly",
                starts_at=starts.replace(tzinfo=None).replace(tzinfo=zone),
                members=ids,
                length_hours=data.get(f"layer{n}_hours") or 24,
            )
            self.layer_rows.append(n)
        return data

    def request(self) -> services.ScheduleRequest:
        data = self.cleaned_data
        return services.ScheduleRequest(
            name=data["name"],
            timezone=data["timezone"],
            description=data.get("description") or "",
            layers=[data[f"layer{n}_request"] for n in self.layer_rows],
        )

    def field_for(self, service_field: str | None) -> str | None:
        if not service_field:
            return None
        parts = service_field.split(".")
        if parts[0] == "layers" and len(parts) > 1 and parts[1].isdigit():
            rows = getattr(self, "layer_rows", [])
            index = int(parts[1])
            n = rows[index] if index < len(rows) else 1
            suffix = {
                "name": "name",
                "kind": "kind",
                "length_hours": "hours",
                "starts_at": "starts",
            }.get(parts[2] if len(parts) > 2 else "", "members")
            return f"layer{n}_{suffix}"
        if parts[0] == "layers":
            return "layer1_name"
        return parts[0] if parts[0] in self.fields else None


class OverrideForm(forms.Form):
    username = forms.CharField(label="Who covers", max_length=150)
    starts_at = forms.DateTimeField(
        label="From (schedule's time)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    ends_at = forms.DateTimeField(
        label="Until",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    note = forms.CharField(required=False, max_length=200)

    def request(self, zone: zoneinfo.ZoneInfo) -> services.OverrideRequest:
        data = self.cleaned_data
        ids, missing = _user_ids([data["username"]])
        if missing:
            raise forms.ValidationError(f"no user {data['username']!r}")
        return services.OverrideRequest(
            user_id=ids[0],
            starts_at=data["starts_at"].replace(tzinfo=None).replace(tzinfo=zone),
            ends_at=data["ends_at"].replace(tzinfo=None).replace(tzinfo=zone),
            note=data.get("note") or "",
        )
