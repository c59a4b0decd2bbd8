"""Console forms of the alarm console."""

from __future__ import annotations

from django import forms

from mailwarden.incidents.models import AlarmSource, Severity


class AcknowledgeForm(forms.Form):
    alarm_ids = forms.TypedMultipleChoiceField(
        label="Alarms", coerce=int, choices=(), error_messages={"required": "tick an alarm first"}
    )
    note = forms.CharField(label="Note", required=False, max_length=500)

    def __init__(self, *args: object, alarm_ids: list[int], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["alarm_ids"].choices = [(i, str(i)) for i in alarm_ids]  # type: ignore[attr-defined]


class FilterForm(forms.Form):
    site = forms.CharField(required=False, max_length=30)
    source = forms.ChoiceField(required=False, choices=[("", "Every source"), *AlarmSource.choices])
    min_severity = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Any severity"), *Severity.choices],
    )
