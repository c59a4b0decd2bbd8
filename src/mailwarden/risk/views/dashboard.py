"""The risk dashboard: every site's assessments, and the controls its evidence contradicts."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from mailwarden.core.views import console_page
from mailwarden.risk.permissions import VIEW_RISK


@console_page(VIEW_RISK, "the risk dashboard")
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "risk/dashboard.html", {})


urls = [path("", dashboard, name="dashboard")]
