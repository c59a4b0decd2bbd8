from django.urls import path

from mailwarden.surveillance.views import cameras, events

app_name = "surveillance"

urlpatterns = [
    path("cameras/", cameras.cameras, name="cameras"),
    path("cameras/new/", cameras.camera_new, name="camera_new"),
    path("cameras/<slug:name>/", cameras.camera_detail, name="camera"),
    path("cameras/<slug:name>/edit/", cameras.camera_edit, name="camera_edit"),
    path("cameras/<slug:name>/snapshot.jpg", cameras.camera_snapshot, name="camera_snapshot"),
    path("cameras/<slug:name>/regions/", cameras.regions, name="regions"),
    path("cameras/<slug:name>/regions/save/", cameras.regions_save, name="regions_save"),
    path("events/", events.events, name="events"),
    path("events/<int:pk>/", events.event_detail, name="event"),
    path("events/<int:pk>/snapshot.jpg", events.event_snapshot, name="event_snapshot"),
    path("events/<int:pk>/clip", events.event_clip, name="event_clip"),
    path("events/<int:pk>/handle/", events.event_handle, name="event_handle"),
]
