"""Console pages: screener proficiency and live TIP settings (to come)."""

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path

from mailwarden.core.views import console_page
from mailwarden.training.permissions import VIEW_COMPLIANCE


@console_page(VIEW_COMPLIANCE, "screener proficiency")
def placeholder(request: HttpRequest) -> HttpResponse:
    return HttpResponse("to come")


urls: list[URLPattern] = [
    path("proficiency/", placeholder, name="proficiency"),
]
