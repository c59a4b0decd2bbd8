from django.contrib import admin
from django.urls import include, path

from mailwarden.core.plugins import console_urlconfs
from mailwarden.server import health
from mailwarden.server.api import api
from mailwarden.server.metrics import metrics_view

urlpatterns = [
    path("livez", health.livez, name="livez"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
    # Each app's console pages, where its AppConfig says.
    *(path(prefix, include(urlconf)) for prefix, urlconf in console_urlconfs()),
]
