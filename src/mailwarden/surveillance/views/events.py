"""The video event pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mailwarden.core.views import console_page
from mailwarden.surveillance.models import VideoEvent
from mailwarden.surveillance.services.cameras import VIEW_CAMERAS


@console_page(VIEW_CAMERAS, "viewing video events")
def events(request: HttpRequest) -> HttpResponse:
    found = VideoEvent.objects.select_related("camera", "site").exclude(state="recorded")
    return render(request, "surveillance/events.html", {"events": found[:200]})
