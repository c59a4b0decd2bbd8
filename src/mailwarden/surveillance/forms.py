"""Console forms for cameras and video events.

Field names follow ``services.cameras.CameraSpec`` and ``services.events.handle``, so a
ServiceError's ``field`` lands next to the right input without a mapping. Forms only shape
input; the services decide what is allowed.
"""

from __future__ import annotations

from typing import Any

from django import forms

from mailwarden.core.forms import form_field
from mailwarden.directory.models import Site
from mailwarden.surveillance.models import Camera, EventState, VisionWorker


def site_choices(blank: str | None = None) -> list[tuple[str, str]]:
    choices = [(s.code, s.name) for s in Site.objects.order_by("name")]
    return [("", blank), *choices] if blank is not None else choices


def worker_choices() -> list[tuple[str, str]]:
    workers = VisionWorker.objects.select_related("site").order_by("name")
    return [("", "No worker yet")] + [(w.name, f"{w.name} ({w.site.name})") for w in workers]


class CameraForm(forms.Form):
    site = forms.ChoiceField(label="Site")
    name = forms.SlugField(
        label="Name",
        max_length=100,
        help_text="Letters, digits, '-' and '_'; it names the camera in events and the API.",
    )
    label = forms.CharField(label="Label", required=False, max_length=120)
    url = forms.CharField(
        label="Address",
        max_length=500,
        help_text="rtsp://host:554/stream, or a video file's full path. Keep the user name and "
        "password out of it: they have their own fields.",
    )
    username = forms.CharField(label="User name", required=False, max_length=100)
    password = forms.CharField(
        label="Password",
        required=False,
        max_length=200,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    clear_password = forms.BooleanField(label="Remove the stored password", required=False)
    worker = forms.ChoiceField(label="Vision worker", required=False)
    enabled = forms.BooleanField(label="Watch this camera", required=False, initial=True)
    analysis_fps = forms.FloatField(
        label="Analysed frames per second",
        min_value=0.2,
        max_value=30,
        initial=5.0,
        help_text="5 suits people walking; more costs more processor time.",
    )
    motion_gating = forms.BooleanField(
        label="Analyse only when something moves",
        required=False,
        initial=True,
        help_text="An idle camera then costs almost nothing.",
    )
    pre_roll_s = forms.FloatField(
        label="Clip seconds before", min_value=0, max_value=30, initial=3.0
    )
    post_roll_s = forms.FloatField(
        label="Clip seconds after", min_value=0, max_value=30, initial=3.0
    )

    def __init__(self, *args: Any, camera: Camera | None = None, **kwargs: Any) -> None:
        if camera is not None and not kwargs.get("initial"):
            kwargs["initial"] = {
                "site": camera.site.code,
                "name": camera.name,
                "label": camera.label,
                "url": camera.url,
                "username": camera.username,
                "worker": camera.worker.name if camera.worker else "",
                "enabled": camera.enabled,
                "analysis_fps": camera.analysis_fps,
                "motion_gating": camera.motion_gating,
                "pre_roll_s": camera.pre_roll_s,
                "post_roll_s": camera.post_roll_s,
            }
        super().__init__(*args, **kwargs)
        self.camera = camera
        form_field(self, "site", forms.ChoiceField).choices = site_choices()
        form_field(self, "worker", forms.ChoiceField).choices = worker_choices()
        if camera is not None:
            # A camera keeps its name and site: events and evidence are filed under them.
            del self.fields["site"]
            del self.fields["name"]
            password = self.fields["password"]
            password.help_text = (
                "A password is stored (encrypted); leave this empty to keep it."
                if camera.password_secret
                else "No password is stored."
            )
            if not camera.password_secret:
                del self.fields["clear_password"]
        else:
            del self.fields["clear_password"]

    def password_value(self) -> str | None:
        """What to tell the service: None keeps the stored password, "" removes it."""
        if self.cleaned_data.get("clear_password"):
            return ""
        return self.cleaned_data.get("password") or None


class EventFilterForm(forms.Form):
    camera = forms.ChoiceField(label="Camera", required=False)
    type = forms.ChoiceField(label="What", required=False)
    state = forms.ChoiceField(label="State", required=False)

    ANY_STATE = "any"

    def __init__(self, *args: Any, types: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cameras = Camera.objects.order_by("name")
        form_field(self, "camera", forms.ChoiceField).choices = [("", "All cameras")] + [
            (c.name, str(c)) for c in cameras
        ]
        form_field(self, "type", forms.ChoiceField).choices = [("", "Everything")] + [
            (t, t.replace("_", " ").capitalize()) for t in types
        ]
        form_field(self, "state", forms.ChoiceField).choices = [
            *EventState.choices,
            (self.ANY_STATE, "Any state"),
        ]

    def state_filter(self) -> str:
        """New events unless another state is asked for; "" for any state."""
        state = self.cleaned_data.get("state") or EventState.NEW
        return "" if state == self.ANY_STATE else state


class HandleEventForm(forms.Form):
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What you saw or did"}),
    )
    action = forms.ChoiceField(
        choices=[("acknowledge", "Acknowledge"), ("false_positive", "False positive")],
        widget=forms.HiddenInput,
    )
