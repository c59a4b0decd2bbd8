from django.urls import path

from mailwarden.incidents.views import alarms as views

app_name = "incidents"

urlpatterns = [
    path("alarms/", views.alarms, name="alarms"),
    path("alarms/stream", views.alarm_stream, name="alarm_stream"),
    path("alarms/acknowledge/", views.acknowledge, name="acknowledge"),
]
