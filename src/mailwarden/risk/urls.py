"""The risk app's console pages; each topic's views module lists its own URLs."""

from mailwarden.risk.views import dashboard

app_name = "risk"

urlpatterns = [*dashboard.urls]
