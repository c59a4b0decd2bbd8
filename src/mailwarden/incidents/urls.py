from django.urls import path

from mailwarden.incidents.views import alarms as views
from mailwarden.incidents.views import delivery as delivery_views

app_name = "incidents"

urlpatterns = [
    path("alarms/", views.alarms, name="alarms"),
    path("alarms/stream", views.alarm_stream, name="alarm_stream"),
    path("alarms/acknowledge/", views.acknowledge, name="acknowledge"),
    # delivery: dead letters with replay, and the in-app inbox
    path("dead-letters/", delivery_views.dead_letters, name="dead_letters"),
    path(
        "dead-letters/messages/replay/",
        delivery_views.replay_deliveries,
        name="replay_deliveries",
    ),
    path("dead-letters/events/replay/", delivery_views.replay_events, name="replay_events"),
    path("inbox/", delivery_views.inbox, name="inbox"),
    path("inbox/read/", delivery_views.mark_read, name="mark_read"),
    path("webhooks/", delivery_views.webhooks, name="webhooks"),
    path("webhooks/new/", delivery_views.webhook_new, name="webhook_new"),
    path("webhooks/<slug:name>/switch/", delivery_views.webhook_switch, name="webhook_switch"),
    path("webhooks/<slug:name>/delete/", delivery_views.webhook_delete, name="webhook_delete"),
]
