from django.urls import path

from mailwarden.incidents.views import alarms as views
from mailwarden.incidents.views import playbooks

app_name = "incidents"

urlpatterns = [
    path("alarms/", views.alarms, name="alarms"),
    path("alarms/stream", views.alarm_stream, name="alarm_stream"),
    path("alarms/acknowledge/", views.acknowledge, name="acknowledge"),
    # playbooks
    path("playbooks/", playbooks.playbook_list, name="playbooks"),
    path("playbooks/<int:playbook_id>/edit/", playbooks.playbook_edit, name="playbook_edit"),
    path("<int:incident_id>/steps/", playbooks.incident_steps, name="steps"),
    path(
        "<int:incident_id>/steps/<int:position>/complete/",
        playbooks.complete_step,
        name="complete_step",
    ),
    path("<int:incident_id>/arm/", playbooks.arm, name="arm"),
    path("<int:incident_id>/mail-hold/release/", playbooks.release_hold, name="release_hold"),
]
