"""Console forms of incidents: the filters, opening one, and each addition to its case file."""

from __future__ import annotations

from django import forms

from mailwarden.incidents.models import (
    ExerciseType,
    IncidentSeverity,
    IncidentState,
    IncidentType,
    LinkKind,
)
from mailwarden.incidents.services import incidents as services


class IncidentFilterForm(forms.Form):
    state = forms.ChoiceField(required=False, choices=[("", "Every state"), *IncidentState.choices])
    site = forms.CharField(required=False, max_length=30)
    type = forms.ChoiceField(required=False, choices=[("", "Every type"), *IncidentType.choices])
    exercise = forms.ChoiceField(
        required=False,
        choices=[("", "Real and exercises"), ("no", "Real only"), ("yes", "Exercises only")],
    )


class OpenIncidentForm(forms.Form):
    type = forms.ChoiceField(label="Type", choices=IncidentType.choices)
    severity = forms.TypedChoiceField(
        label="Severity", coerce=int, choices=IncidentSeverity.choices, initial=2
    )
    site = forms.ChoiceField(label="Site", choices=())
    title = forms.CharField(label="Title", max_length=200)
    summary = forms.CharField(
        label="Summary", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )
    alarm_ids = forms.CharField(required=False, widget=forms.HiddenInput)
    exercise = forms.BooleanField(label="This is an exercise", required=False)
    exercise_type = forms.ChoiceField(
        label="Exercise type", required=False, choices=[("", "—"), *ExerciseType.choices]
    )

    def __init__(self, *args: object, sites: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["site"].choices = sites  # type: ignore[attr-defined]

    def clean_alarm_ids(self) -> list[int]:
        raw = self.cleaned_data.get("alarm_ids") or ""
        ids = [part for part in raw.replace(",", " ").split() if part]
        if not all(part.isdigit() and len(part) < 10 for part in ids):
            raise forms.ValidationError("alarm IDs are numbers")
        return [int(part) for part in ids]


class MoveForm(forms.Form):
    state = forms.ChoiceField(choices=IncidentState.choices)
    note = forms.CharField(required=False, max_length=1000)


class LegalHoldForm(forms.Form):
    """Place or release the incident's legal hold: a reason, and a tick to confirm."""

    reason = forms.CharField(label="Reason", max_length=300)
    confirm = forms.BooleanField(
        label="I confirm", error_messages={"required": "tick the box to confirm"}
    )


class NoteForm(forms.Form):
    text = forms.CharField(label="Note", max_length=1000)


class AssignForm(forms.Form):
    username = forms.CharField(label="Person", max_length=150)


class LinkForm(forms.Form):
    kind = forms.ChoiceField(label="Kind", choices=LinkKind.choices)
    target = forms.CharField(label="Reference", max_length=100)


class EvidenceForm(forms.Form):
    file = forms.FileField(label="File", allow_empty_file=True)
    description = forms.CharField(label="Description", required=False, max_length=500)

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        limit = services.evidence_limit()
        if upload.size is not None and upload.size > limit:
            raise forms.ValidationError(f"the file is {upload.size} bytes; the limit is {limit}")
        return upload


class TaskForm(forms.Form):
    title = forms.CharField(label="Task", max_length=200)
    assignee = forms.CharField(label="For", required=False, max_length=150)
    due_at = forms.DateTimeField(
        label="Due",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
