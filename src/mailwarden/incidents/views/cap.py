"""Console pages of received CAP alerts: the list, and one alert with its XML (as text)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from mailwarden.core.views import console_page
from mailwarden.incidents.forms.cap import ReceivedFilterForm
from mailwarden.incidents.models import Alarm, ReceivedAlert
from mailwarden.incidents.services import cap as services

SHOWN = 200


@console_page(services.VIEW_CAP, "received CAP alerts")
@require_GET
def received(request: HttpRequest) -> HttpResponse:
    form = ReceivedFilterForm(request.GET or None)
    alerts = ReceivedAlert.objects.all()
    if form.is_valid() and form.cleaned_data["outcome"]:
        alerts = alerts.filter(outcome=form.cleaned_data["outcome"])
    return render(
        request,
        "incidents/cap/received.html",
        {"alerts": list(alerts[:SHOWN]), "total": alerts.count(), "form": form},
    )


@console_page(services.VIEW_CAP, "received CAP alerts")
@require_GET
def received_alert(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(ReceivedAlert, pk=alert_id)
    alarms = list(Alarm.objects.select_related("site").filter(pk__in=alert.alarms))
    return render(request, "incidents/cap/alert.html", {"alert": alert, "alarms": alarms})
