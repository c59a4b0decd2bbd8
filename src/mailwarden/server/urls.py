from django.contrib import admin
from django.urls import include, path

from mailwarden.server import health
from mailwarden.server.api import api
from mailwarden.server.metrics import metrics_view

urlpatterns = [
    path("livez", health.livez, name="livez"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
    path("", include("mailwarden.core.urls")),
    path("", include("mailwarden.directory.urls")),
    path("", include("mailwarden.custody.urls")),
    path("screening/", include("mailwarden.screening.urls")),
    path("access/", include("mailwarden.access.urls")),
]
