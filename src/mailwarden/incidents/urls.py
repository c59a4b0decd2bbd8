from django.urls import path

from mailwarden.incidents.views import alarms as views
from mailwarden.incidents.views import broadcasts

app_name = "incidents"

urlpatterns = [
    path("alarms/", views.alarms, name="alarms"),
    path("alarms/stream", views.alarm_stream, name="alarm_stream"),
    path("alarms/acknowledge/", views.acknowledge, name="acknowledge"),
    # broadcast: site messages, their accountability board, and the public roll-call page
    path("broadcasts/", broadcasts.broadcast_list, name="broadcasts"),
    path("broadcasts/new/", broadcasts.broadcast_new, name="broadcast_new"),
    path("broadcasts/<int:pk>/", broadcasts.broadcast_board, name="broadcast"),
    path("broadcasts/<int:pk>/stream", broadcasts.board_stream, name="broadcast_stream"),
    path("broadcasts/<int:pk>/resend/", broadcasts.broadcast_resend, name="broadcast_resend"),
    path("broadcasts/<int:pk>/close/", broadcasts.broadcast_close, name="broadcast_close"),
    path(
        "rollcall/<str:token>/<slug:answer>/",
        broadcasts.roll_call_answer,
        name="roll_call_answer",
    ),
    path("rollcall/<str:token>/", broadcasts.roll_call_details, name="roll_call_details"),
]
