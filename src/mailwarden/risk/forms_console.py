"""Forms of the risk console: a new assessment, its scoring method, one questionnaire section,
and findings."""

from __future__ import annotations

from typing import Any

from django import forms

from mailwarden.directory.models import Site
from mailwarden.risk.models import FindingState
from mailwarden.risk.questionnaire import Question, Section

# The shipped scoring methods (risk.scoring), in the order the form offers them.
METHOD_CHOICES = [
    ("matrix", "Likelihood by impact matrix (ISO 31000 style)"),
    ("fema452", "FEMA 452: threat, vulnerability and consequence multiplied"),
    ("carver", "CARVER: six factors, summed"),
]
MATRIX_SIZES = [(n, f"{n} by {n}") for n in range(3, 11)]
YES_NO = [("yes", "Yes"), ("no", "No")]


class MethodForm(forms.Form):
    method = forms.ChoiceField(label="Scoring method", choices=METHOD_CHOICES)
    size = forms.TypedChoiceField(
        label="Matrix size",
        choices=MATRIX_SIZES,
        coerce=int,
        initial=5,
        required=False,
        help_text="Only for the matrix: the number of likelihood and impact levels.",
    )

    def params(self) -> dict[str, Any]:
        data = self.cleaned_data
        if data["method"] == "matrix":
            return {"size": data.get("size") or 5}
        return {}


class NewAssessmentForm(MethodForm):
    site = forms.ModelChoiceField(
        label="Site", queryset=Site.objects.order_by("name"), to_field_name="code"
    )
    title = forms.CharField(label="Title", max_length=150)

    field_order = ["site", "title", "method", "size"]


class FindingForm(forms.Form):
    title = forms.CharField(label="What was found", max_length=200)
    notes = forms.CharField(label="Notes", widget=forms.Textarea(attrs={"rows": 4}), required=False)
    threat = forms.ChoiceField(label="Threat it bears on", required=False)
    photo = forms.FileField(label="Photo", required=False)
    caption = forms.CharField(label="Caption", max_length=200, required=False)

    def __init__(self, *args: Any, threats: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["threat"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "None in particular"), *threats]


class PhotoForm(forms.Form):
    photo = forms.FileField(label="Photo")
    caption = forms.CharField(label="Caption", max_length=200, required=False)


class FindingStateForm(forms.Form):
    state = forms.ChoiceField(
        choices=[(FindingState.CONFIRMED, "Confirm"), (FindingState.DISMISSED, "Dismiss")]
    )
    notes = forms.CharField(
        label="Why", widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000
    )


def _field(question: Question) -> forms.Field:
    common: dict[str, Any] = {"label": question.text, "required": False, "help_text": question.help}
    if question.kind == "yesno":
        return forms.ChoiceField(choices=YES_NO, widget=forms.RadioSelect, **common)
    if question.kind == "choice":
        return forms.ChoiceField(choices=list(question.choices), widget=forms.RadioSelect, **common)
    if question.kind == "multi":
        return forms.MultipleChoiceField(
            choices=list(question.choices), widget=forms.CheckboxSelectMultiple, **common
        )
    if question.kind == "number":
        return forms.FloatField(min_value=0, **common)
    return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **common)


def _initial(question: Question, value: Any) -> Any:
    if question.kind == "yesno" and isinstance(value, bool):
        return "yes" if value else "no"
    return value


def answered(value: Any) -> bool:
    return value not in (None, "", [])


def note_name(question: Question) -> str:
    return f"{question.key}__note"


class SectionForm(forms.Form):
    """One section's questions, each with an optional note; every field may be left blank, so a
    section can be saved half done."""

    def __init__(
        self,
        *args: Any,
        section: Section,
        answers: dict[str, tuple[Any, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.section = section
        for question in section.questions:
            value, note = answers.get(question.key, (None, ""))
            field = _field(question)
            field.initial = _initial(question, value)
            self.fields[question.key] = field
            self.fields[note_name(question)] = forms.CharField(
                label="Note", required=False, initial=note, max_length=2000
            )

    def rows(self) -> list[tuple[Question, forms.BoundField, forms.BoundField]]:
        return [(q, self[q.key], self[note_name(q)]) for q in self.section.questions]

    def values(self) -> list[tuple[Question, Any, str]]:
        """The answers given, as the service takes them; blank questions are left out."""
        found = []
        for question in self.section.questions:
            raw: Any = self.cleaned_data.get(question.key)
            note = self.cleaned_data.get(note_name(question)) or ""
            if not answered(raw):
                continue
            value: Any = raw
            if question.kind == "yesno":
                value = raw == "yes"
            elif question.kind == "number" and float(raw).is_integer():
                value = int(raw)
            elif question.kind == "multi":
                value = list(raw)
            found.append((question, value, note))
        return found
