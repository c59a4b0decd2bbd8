from django.urls import path

from mailwarden.surveillance.views import cameras, events

app_name = "surveillance"

urlpatterns = [
    path("cameras/", cameras.cameras, name="cameras"),
    path("events/", events.events, name="events"),
]
