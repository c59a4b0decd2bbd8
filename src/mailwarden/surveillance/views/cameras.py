"""The camera pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mailwarden.core.views import console_page
from mailwarden.surveillance.models import Camera
from mailwarden.surveillance.services.cameras import VIEW_CAMERAS


@console_page(VIEW_CAMERAS, "viewing cameras")
def cameras(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "surveillance/cameras.html",
        {"cameras": Camera.objects.select_related("site", "worker")},
    )
