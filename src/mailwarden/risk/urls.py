"""The risk app's console pages; each topic's views module lists its own URLs."""

from mailwarden.risk.views import (
    assessments,
    controls,
    dashboard,
    findings,
    register,
    reports,
    treatments,
)

app_name = "risk"

urlpatterns = [
    *dashboard.urls,
    *assessments.urls,
    *findings.urls,
    *register.urls,
    *reports.urls,
    *controls.urls,
    *treatments.urls,
]
