"""Console forms for treatments. Field names follow the service arguments, so a refusal's
``field`` lands next to its input."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from mailwarden.core.forms import form_field
from mailwarden.risk.models import Control, Risk, TreatmentKind
from mailwarden.risk.services.treatments import MAX_DESCRIPTION


class TreatmentForm(forms.Form):
    kind = forms.ChoiceField(
        label="Treatment",
        choices=TreatmentKind.choices,
        help_text="An acceptance waits for a second security manager's approval.",
    )
    description = forms.CharField(
        label="What will be done",
        max_length=MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    owner = forms.ChoiceField(label="Owner (sees it through; told when it is overdue)")
    due = forms.DateField(
        label="Due",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    control = forms.TypedChoiceField(
        label="Control that implements it (a mitigation)",
        required=False,
        coerce=int,
        empty_value=None,
    )

    def __init__(self, risk: Risk, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = get_user_model().objects.filter(is_active=True).order_by("username")
        form_field(self, "owner", forms.ChoiceField).choices = [
            ("", "Choose a person"),
            *((u.get_username(), u.get_full_name() or u.get_username()) for u in people),
        ]
        controls = Control.objects.filter(site_id=risk.assessment.site_id).order_by("title")
        form_field(self, "control", forms.TypedChoiceField).choices = [
            ("", "None"),
            *((c.pk, c.title) for c in controls),
        ]


class StatusForm(forms.Form):
    status = forms.CharField(max_length=12)
