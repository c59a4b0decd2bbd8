"""Console pages: tip (to come)."""

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path

from mailwarden.core.views import console_page
from mailwarden.training.permissions import LEARN


@console_page(LEARN, "training")
def placeholder(request: HttpRequest) -> HttpResponse:
    return HttpResponse("to come")


urls: list[URLPattern] = [
    path("tip/", placeholder, name="tip"),
]
