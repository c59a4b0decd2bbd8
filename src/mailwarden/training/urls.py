"""The training app's console pages; each topic's views module lists its own URLs."""

from mailwarden.training.views import compliance, courses, parcels, proficiency, tip

app_name = "training"

urlpatterns = [*courses.urls, *compliance.urls, *tip.urls, *parcels.urls, *proficiency.urls]
