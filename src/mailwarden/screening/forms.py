"""Forms of the screening console: the workstation's decision and scan upload, the quarantine
register's proposals, and the screening policy.

Forms check shape only; every rule about what may happen is the services' to enforce, and their
refusals are put next to the field they name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import forms

from mailwarden.core.forms import form_field
from mailwarden.screening.models import Indicator, Outcome
from mailwarden.screening.policy import (
    MAX_THRESHOLD,
    MAX_WEIGHT,
    Action,
    Tier,
)
from mailwarden.screening.services import MAX_CONFIRM_MINUTES, MAX_LIST, SitePolicyView
from mailwarden.xray.analysis import REGION_CLASSES

CLEAR = "clear"
QUARANTINE = "quarantine"
THREAT = "threat"

TIER_CHOICES = [(t.value, t.value.capitalize()) for t in Tier]
# Short enough for a select box; the policy's own words are the help text.
ACTION_CHOICES = [
    (Action.CLEAR.value, "Clear: one screener"),
    (Action.SECOND_SCREENER.value, "Second screener confirms"),
    (Action.QUARANTINE.value, "Quarantine"),
    (Action.EVACUATE.value, "Do not open: evacuate, alarm"),
]
CLASS_LABELS = {"ied": "IED"}


class DecisionForm(forms.Form):
    """The checklist and the button pressed; one form, so every button sends the ticks."""

    decision = forms.ChoiceField(
        choices=[
            (CLEAR, "Clear"),
            (QUARANTINE, "Suspicious: quarantine"),
            (THREAT, "Threat: do not open"),
        ]
    )
    indicators = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Indicators seen"
    )
    notes = forms.CharField(
        required=False,
        max_length=2000,
        label="Notes",
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": "Anything the next person should know"}
        ),
    )
    quarantine_reason = forms.CharField(
        required=False,
        max_length=500,
        label="Why is it suspicious?",
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "e.g. wires on X-ray, oily stain, excessive tape"}
        ),
    )
    threat_note = forms.CharField(
        required=False,
        max_length=500,
        label="What did you see? (optional)",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    opened = forms.CharField(required=False, max_length=400, widget=forms.HiddenInput)
    # Sent only from the dialog that shows a high or critical X-ray finding before clearing.
    confirm_findings = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, indicators: Iterable[Indicator], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        form_field(self, "indicators", forms.MultipleChoiceField).choices = [
            (i.code, i.label) for i in indicators
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("decision") == QUARANTINE and not data.get("quarantine_reason", "").strip():
            self.add_error("quarantine_reason", "say why you suspect the item")
        return data


class ConfirmDecisionForm(forms.Form):
    decision_id = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class ScanUploadForm(forms.Form):
    image = forms.FileField(
        required=False,
        label="Colour composite or DICOS file",
        help_text="JPEG, PNG, TIFF, BMP or DICOS.",
    )
    high = forms.FileField(
        required=False, label="High-energy image", help_text="16-bit greyscale TIFF."
    )
    low = forms.FileField(
        required=False, label="Low-energy image", help_text="16-bit greyscale TIFF."
    )


class ProposeOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=Outcome.choices, widget=forms.RadioSelect, label="Proposed outcome"
    )
    reason = forms.CharField(
        max_length=2000,
        label="Reason",
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "e.g. opened under supervision: a book"}
        ),
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("say why")
        return reason


class ConfirmOutcomeForm(forms.Form):
    request_id = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


# ----------------------------------------------------------------------------- policy


def weight_field(code: str) -> str:
    return f"weight_{code}"


def xray_field(cls: str) -> str:
    return f"xray_{cls}"


def action_field(tier: str) -> str:
    return f"action_{tier}"


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class PolicyForm(forms.Form):
    """Every part of a site's policy; :meth:`changes` says which parts differ from the current."""

    elevated_at = forms.IntegerField(min_value=1, max_value=MAX_THRESHOLD, label="Elevated at")
    high_at = forms.IntegerField(min_value=1, max_value=MAX_THRESHOLD, label="High at")
    critical_at = forms.IntegerField(min_value=1, max_value=MAX_THRESHOLD, label="Critical at")
    xray_min_score = forms.FloatField(
        min_value=0.0,
        max_value=1.0,
        label="X-ray minimum score",
        help_text="A finding scoring under this gets a second look instead of its class's tier.",
    )
    recipient_risk_weight = forms.IntegerField(
        min_value=0, max_value=MAX_WEIGHT, label="High-risk recipient weight"
    )
    high_risk_employee_ids = forms.CharField(
        required=False,
        label="High-risk recipients (employee IDs)",
        help_text="One per line.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    high_risk_departments = forms.CharField(
        required=False,
        label="High-risk departments",
        help_text="One per line.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    confirm_within_minutes = forms.IntegerField(
        min_value=1,
        max_value=MAX_CONFIRM_MINUTES,
        label="Confirm quarantine outcomes within (minutes)",
        help_text="A proposal not confirmed in time lapses and must be made again.",
    )
    expected_version = forms.IntegerField(min_value=0, widget=forms.HiddenInput)

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        view: SitePolicyView,
        indicators: Iterable[Indicator],
        read_only: bool = False,
        **kwargs: Any,
    ) -> None:
        policy = view.policy
        initial = {
            "elevated_at": policy.elevated_at,
            "high_at": policy.high_at,
            "critical_at": policy.critical_at,
            "xray_min_score": policy.xray_min_score,
            "recipient_risk_weight": policy.recipient_risk_weight,
            "high_risk_employee_ids": "\n".join(view.high_risk_employee_ids),
            "high_risk_departments": "\n".join(view.high_risk_departments),
            "confirm_within_minutes": view.confirm_within_minutes,
            "expected_version": view.version,
        }
        super().__init__(data, initial=initial, **kwargs)
        self.view = view
        self.indicators = list(indicators)
        for indicator in self.indicators:
            name = weight_field(indicator.code)
            self.fields[name] = forms.IntegerField(
                min_value=0,
                max_value=MAX_WEIGHT,
                label=indicator.label,
                help_text=f"Default {indicator.default_weight}",
            )
            self.initial[name] = policy.indicator_weights.get(
                indicator.code, indicator.default_weight
            )
        for tier in Tier:
            name = action_field(tier.value)
            self.fields[name] = forms.ChoiceField(
                choices=ACTION_CHOICES, label=tier.value.capitalize()
            )
            self.initial[name] = policy.actions[tier].value
        for cls in REGION_CLASSES:
            name = xray_field(cls)
            self.fields[name] = forms.ChoiceField(
                choices=TIER_CHOICES, label=CLASS_LABELS.get(cls, cls.capitalize())
            )
            xray_tier = policy.xray_tiers.get(cls)
            self.initial[name] = xray_tier.value if xray_tier else Tier.ELEVATED.value
        if read_only:
            for field in self.fields.values():
                field.disabled = True

    def weight_fields(self) -> list[forms.BoundField]:
        return [self[weight_field(i.code)] for i in self.indicators]

    def action_fields(self) -> list[forms.BoundField]:
        return [self[action_field(t.value)] for t in Tier]

    def xray_fields(self) -> list[forms.BoundField]:
        return [self[xray_field(c)] for c in REGION_CLASSES]

    def clean_high_risk_employee_ids(self) -> list[str]:
        values = _lines(self.cleaned_data["high_risk_employee_ids"])
        if len(values) > MAX_LIST:
            raise forms.ValidationError(f"at most {MAX_LIST} entries")
        return values

    def clean_high_risk_departments(self) -> list[str]:
        values = _lines(self.cleaned_data["high_risk_departments"])
        if len(values) > MAX_LIST:
            raise forms.ValidationError(f"at most {MAX_LIST} entries")
        return values

    def changes(self) -> dict[str, Any]:
        """The parts that differ from the policy the form was drawn from, as
        :class:`~mailwarden.screening.services.PolicyUpdate` names them."""
        data = self.cleaned_data
        view = self.view
        policy = view.policy
        found: dict[str, Any] = {}
        weights = {
            i.code: data[weight_field(i.code)]
            for i in self.indicators
            if data[weight_field(i.code)] != policy.indicator_weights.get(i.code, i.default_weight)
        }
        if weights:
            found["indicator_weights"] = weights
        for name in ("elevated_at", "high_at", "critical_at", "recipient_risk_weight"):
            if data[name] != getattr(policy, name):
                found[name] = data[name]
        if data["xray_min_score"] != policy.xray_min_score:
            found["xray_min_score"] = data["xray_min_score"]
        if data["confirm_within_minutes"] != view.confirm_within_minutes:
            found["confirm_within_minutes"] = data["confirm_within_minutes"]
        actions = {
            t.value: data[action_field(t.value)]
            for t in Tier
            if data[action_field(t.value)] != policy.actions[t].value
        }
        if actions:
            found["actions"] = actions
        tiers = {}
        for cls in REGION_CLASSES:
            current = policy.xray_tiers.get(cls)
            wanted = data[xray_field(cls)]
            if current is None or wanted != current.value:
                tiers[cls] = wanted
        if tiers:
            found["xray_tiers"] = tiers
        if data["high_risk_employee_ids"] != list(view.high_risk_employee_ids):
            found["high_risk_employee_ids"] = data["high_risk_employee_ids"]
        if data["high_risk_departments"] != list(view.high_risk_departments):
            found["high_risk_departments"] = data["high_risk_departments"]
        return found

    def field_for(self, service_field: str | None) -> str | None:
        """The form field a service's refusal belongs to (``indicator_weights.x`` -> weight_x)."""
        if not service_field:
            return None
        head, _, tail = service_field.partition(".")
        name = {
            "indicator_weights": weight_field(tail),
            "xray_tiers": xray_field(tail),
            # "actions" alone is a rule about the tiers together: no single field owns it
            "actions": action_field(tail) if tail else "",
        }.get(head, head)
        # A hidden field's error would never be seen: a stale page is the whole form's problem.
        if name not in self.fields or self.fields[name].widget.is_hidden:
            return None
        return name
