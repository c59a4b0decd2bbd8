from django.urls import path

from mailwarden.access.views import board, cardholders, credentials, levels, log, schedules

app_name = "access"
urlpatterns = [
    path("", board.board, name="board"),
    # Ends with "/stream": server/asgi.py serves such paths without a pooled request thread.
    path("board/stream", board.board_stream, name="board_stream"),
    path("lockdown/", board.lockdown, name="lockdown"),
    path("lockdown/lift/", board.lift, name="lift"),
    path("alarms/<int:pk>/acknowledge/", board.acknowledge, name="acknowledge"),
    path("log/", log.access_log, name="log"),
    path("report/", log.report, name="report"),
    path("report.csv", log.report_csv, name="report_csv"),
    path("cardholders/", cardholders.cardholders, name="cardholders"),
    path("cardholders/new/", cardholders.cardholder_new, name="cardholder_new"),
    path("cardholders/<int:pk>/", cardholders.cardholder, name="cardholder"),
    path("cardholders/<int:pk>/edit/", cardholders.cardholder_edit, name="cardholder_edit"),
    path("cardholders/<int:pk>/issue/", cardholders.credential_issue, name="credential_issue"),
    path("credentials/", credentials.credentials, name="credentials"),
    path("credentials/<int:pk>/", credentials.credential, name="credential"),
    path("credentials/<int:pk>/levels/", credentials.credential_levels, name="credential_levels"),
    path("credentials/<int:pk>/revoke/", credentials.credential_revoke, name="credential_revoke"),
    path("levels/", levels.levels, name="levels"),
    path("levels/new/", levels.level_new, name="level_new"),
    path("levels/<int:pk>/edit/", levels.level_edit, name="level_edit"),
    path("schedules/", schedules.schedules, name="schedules"),
    path("schedules/new/", schedules.schedule_new, name="schedule_new"),
    path("schedules/<int:pk>/edit/", schedules.schedule_edit, name="schedule_edit"),
    path("schedules/holidays/", schedules.holiday_add, name="holiday_add"),
    path("schedules/holidays/remove/", schedules.holiday_remove, name="holiday_remove"),
]
