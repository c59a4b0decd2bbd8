from django.urls import path

from mailwarden.incidents.views import alarms as views
from mailwarden.incidents.views import incidents

app_name = "incidents"

urlpatterns = [
    path("alarms/", views.alarms, name="alarms"),
    path("alarms/stream", views.alarm_stream, name="alarm_stream"),
    path("alarms/acknowledge/", views.acknowledge, name="acknowledge"),
]

# Incidents: the list, opening one, and an incident's case file.
urlpatterns += [
    path("", incidents.incident_list, name="incident_list"),
    path("new/", incidents.incident_open, name="incident_open"),
    path("<int:pk>/", incidents.incident, name="incident"),
    path("<int:pk>/move/", incidents.incident_move, name="incident_move"),
    path("<int:pk>/note/", incidents.incident_note, name="incident_note"),
    path("<int:pk>/assign/", incidents.incident_assign, name="incident_assign"),
    path("<int:pk>/unassign/", incidents.incident_unassign, name="incident_unassign"),
    path("<int:pk>/link/", incidents.incident_link, name="incident_link"),
    path("<int:pk>/link/<int:link_id>/remove/", incidents.incident_unlink, name="incident_unlink"),
    path("<int:pk>/evidence/", incidents.incident_evidence, name="incident_evidence"),
    path(
        "<int:pk>/evidence/<int:evidence_id>/",
        incidents.incident_evidence_file,
        name="incident_evidence_file",
    ),
    path("<int:pk>/task/", incidents.incident_task, name="incident_task"),
    path(
        "<int:pk>/task/<int:task_id>/done/", incidents.incident_task_done, name="incident_task_done"
    ),
]
