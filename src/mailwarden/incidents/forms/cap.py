"""Console forms of received CAP alerts."""

from __future__ import annotations

from django import forms

from mailwarden.incidents.models import ReceivedOutcome


class ReceivedFilterForm(forms.Form):
    outcome = forms.ChoiceField(
        label="Outcome", required=False, choices=[("", "Every outcome"), *ReceivedOutcome.choices]
    )
