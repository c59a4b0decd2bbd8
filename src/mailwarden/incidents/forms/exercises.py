"""Console forms of exercises and after-action reports. Every rule is the services'; these only
carry the fields."""

from __future__ import annotations

from django import forms

from mailwarden.incidents.models import (
    CorrectiveActionStatus,
    ExerciseType,
    IncidentSeverity,
    IncidentType,
    ObjectiveRating,
)

_LINES = "One per line."


class ExerciseForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200)
    type = forms.ChoiceField(label="Exercise type", choices=ExerciseType.choices)
    site = forms.ChoiceField(label="Site", choices=())
    incident_type = forms.ChoiceField(
        label="Scenario's incident type", choices=IncidentType.choices
    )
    severity = forms.TypedChoiceField(
        label="Severity",
        coerce=int,
        choices=IncidentSeverity.choices,
        initial=IncidentSeverity.SEV2,
    )
    planned_start = forms.DateTimeField(
        label="Planned start (site's local time)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    scenario = forms.CharField(label="Scenario", widget=forms.Textarea(attrs={"rows": 3}))
    objectives = forms.CharField(
        label="Objectives", help_text=_LINES, widget=forms.Textarea(attrs={"rows": 3})
    )
    participants = forms.CharField(
        label="Participants", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    armed = forms.BooleanField(
        label="Arm it: door and item actions run for real (doors lock, items are held)",
        required=False,
    )

    def __init__(self, *args: object, sites: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["site"].choices = sites  # type: ignore[attr-defined]


class StartForm(forms.Form):
    confirm = forms.BooleanField(
        label="I confirm the exercise starts now",
        error_messages={"required": "tick the box to confirm the exercise starts now"},
    )


class ReportForm(forms.Form):
    overview = forms.CharField(
        label="Overview", required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    participants = forms.CharField(
        label="Participants", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    strengths = forms.CharField(
        label="Strengths",
        help_text=_LINES,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    improvements = forms.CharField(
        label="Areas for improvement",
        help_text=_LINES,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: object, objective_count: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.objective_count = objective_count
        for i in range(objective_count):
            self.fields[f"objective_{i}"] = forms.CharField(
                label=f"Objective {i + 1}", required=False, max_length=300
            )
            self.fields[f"rating_{i}"] = forms.ChoiceField(
                label="Rating", required=False, choices=ObjectiveRating.choices
            )
            self.fields[f"notes_{i}"] = forms.CharField(
                label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 2})
            )

    def objective_rows(self) -> list[dict[str, forms.BoundField]]:
        return [
            {
                "objective": self[f"objective_{i}"],
                "rating": self[f"rating_{i}"],
                "notes": self[f"notes_{i}"],
            }
            for i in range(self.objective_count)
        ]


class ActionForm(forms.Form):
    action = forms.CharField(label="Corrective action", max_length=500)
    improvement = forms.CharField(label="Area for improvement it answers", required=False)
    owner = forms.CharField(label="Owner", max_length=150)
    due_on = forms.DateField(label="Due", widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.ChoiceField(
        label="Status", choices=CorrectiveActionStatus.choices, initial="open"
    )


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]
