from django.urls import path

from mailwarden.access import views

app_name = "access"
urlpatterns = [
    path("", views.board, name="board"),
    # Ends with "/stream": server/asgi.py serves such paths without a pooled request thread.
    path("board/stream", views.board_stream, name="board_stream"),
    path("lockdown/", views.lockdown, name="lockdown"),
    path("lockdown/lift/", views.lift, name="lift"),
    path("alarms/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("log/", views.access_log, name="log"),
    path("report/", views.report, name="report"),
    path("report.csv", views.report_csv, name="report_csv"),
    path("cardholders/", views.cardholders, name="cardholders"),
    path("cardholders/new/", views.cardholder_new, name="cardholder_new"),
    path("cardholders/<int:pk>/", views.cardholder, name="cardholder"),
    path("cardholders/<int:pk>/edit/", views.cardholder_edit, name="cardholder_edit"),
    path("cardholders/<int:pk>/issue/", views.credential_issue, name="credential_issue"),
    path("credentials/", views.credentials, name="credentials"),
    path("credentials/<int:pk>/", views.credential, name="credential"),
    path("credentials/<int:pk>/levels/", views.credential_levels, name="credential_levels"),
    path("credentials/<int:pk>/revoke/", views.credential_revoke, name="credential_revoke"),
    path("levels/", views.levels, name="levels"),
    path("levels/new/", views.level_new, name="level_new"),
    path("levels/<int:pk>/edit/", views.level_edit, name="level_edit"),
    path("schedules/", views.schedules, name="schedules"),
    path("schedules/new/", views.schedule_new, name="schedule_new"),
    path("schedules/<int:pk>/edit/", views.schedule_edit, name="schedule_edit"),
    path("schedules/holidays/", views.holiday_add, name="holiday_add"),
    path("schedules/holidays/remove/", views.holiday_remove, name="holiday_remove"),
]
