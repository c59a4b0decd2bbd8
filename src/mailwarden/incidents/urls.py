from django.urls import path

from mailwarden.incidents.views import alarms as views
from mailwarden.incidents.views import escalation

app_name = "incidents"

urlpatterns = [
    path("alarms/", views.alarms, name="alarms"),
    path("alarms/stream", views.alarm_stream, name="alarm_stream"),
    path("alarms/acknowledge/", views.acknowledge, name="acknowledge"),
    # escalation and on-call
    path("oncall/", escalation.oncall, name="oncall"),
    path(
        "oncall/escalations/<int:escalation_id>/acknowledge/",
        escalation.acknowledge,
        name="escalation_acknowledge",
    ),
    path("oncall/policies/", escalation.policies, name="escalation_policies"),
    path("oncall/policies/<int:policy_id>/", escalation.policy_edit, name="escalation_policy"),
    path("oncall/schedules/", escalation.schedules, name="escalation_schedules"),
    path(
        "oncall/schedules/<int:schedule_id>/",
        escalation.schedule_edit,
        name="escalation_schedule",
    ),
    path("page/<str:token>/", escalation.ack_link, name="escalation_ack_link"),
]
