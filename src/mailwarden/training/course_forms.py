"""Console forms of the course pages: course settings, assignment rules, enrolling someone,
revoking a certificate and looking up a verification code."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from mailwarden.core.roles import STAFF
from mailwarden.directory.models import Department, Site
from mailwarden.training.models import Course


class CourseSettingsForm(forms.Form):
    pass_mark = forms.IntegerField(min_value=1, max_value=100, label="Pass mark (%)")
    valid_days = forms.IntegerField(min_value=1, max_value=3650, label="Valid for (days)")
    renew_within_days = forms.IntegerField(
        min_value=0, max_value=3649, label="Renewal opens (days before expiry)"
    )
    min_tip_trials = forms.IntegerField(
        min_value=1, max_value=10000, required=False, label="TIP trials needed"
    )
    min_dprime = forms.FloatField(
        min_value=0.01, max_value=6, required=False, label="Least d′ needed"
    )
    active = forms.BooleanField(required=False, label="Active (people can take it)")


def _course_choices() -> list[tuple[str, str]]:
    return [(c.slug, c.title) for c in Course.objects.filter(active=True)]


class AssignmentForm(forms.Form):
    course = forms.ChoiceField()
    role = forms.ChoiceField(required=False)
    department = forms.ChoiceField(required=False)
    site = forms.ChoiceField(required=False)
    due_days = forms.IntegerField(
        min_value=1, max_value=3650, initial=30, label="Due within (days)"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["course"].choices = _course_choices()  # type: ignore[attr-defined]
        self.fields["role"].choices = [  # type: ignore[attr-defined]
            ("", "Any role"),
            *sorted((r.value, r.title) for r in STAFF),
        ]
        self.fields["department"].choices = [  # type: ignore[attr-defined]
            ("", "Any department"),
            *((d.name, d.name) for d in Department.objects.all()),
        ]
        self.fields["site"].choices = [  # type: ignore[attr-defined]
            ("", "Any site"),
            *((s.code, s.name) for s in Site.objects.all()),
        ]


class EnrolForm(forms.Form):
    user = forms.ChoiceField(label="Person")
    due_days = forms.IntegerField(
        min_value=1, max_value=3650, initial=30, label="Due within (days)"
    )
    reason = forms.CharField(max_length=200, initial="enrolled by a manager")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["user"].choices = [  # type: ignore[attr-defined]
            (str(u.pk), u.get_username()) for u in people
        ]


class RevokeForm(forms.Form):
    code = forms.CharField(max_length=24)
    reason = forms.CharField(max_length=300)


class LookupForm(forms.Form):
    code = forms.CharField(max_length=40, label="Verification code")
