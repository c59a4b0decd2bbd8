from django.urls import path

from mailwarden.incidents.views import alarms as views
from mailwarden.incidents.views import cap, exercises
from mailwarden.incidents.views import delivery as delivery_views

app_name = "incidents"

urlpatterns = [
    path("alarms/", views.alarms, name="alarms"),
    path("alarms/stream", views.alarm_stream, name="alarm_stream"),
    path("alarms/acknowledge/", views.acknowledge, name="acknowledge"),
    # cap+drills: received CAP alerts, exercises, and the after-action report of any incident
    path("cap/", cap.received, name="cap_received"),
    path("cap/<int:alert_id>/", cap.received_alert, name="cap_alert"),
    path("exercises/", exercises.exercises, name="exercises"),
    path("exercises/<int:exercise_id>/", exercises.exercise, name="exercise"),
    path("exercises/<int:exercise_id>/start/", exercises.exercise_start, name="exercise_start"),
    path("<int:incident_id>/report/", exercises.report, name="report"),
    path("<int:incident_id>/report/edit/", exercises.report_edit, name="report_edit"),
    path("<int:incident_id>/report.pdf", exercises.report_download, name="report_pdf"),
    path(
        "<int:incident_id>/report/actions/",
        exercises.report_action_add,
        name="report_action_add",
    ),
    path(
        "<int:incident_id>/report/actions/<int:action_id>/",
        exercises.report_action_update,
        name="report_action_update",
    ),
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
