from django.urls import path

from mailwarden.incidents.views import alarms as views
from mailwarden.incidents.views import broadcasts, cap, escalation, exercises, incidents, playbooks
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

# Incidents: the list, opening one, and an incident's case file.
urlpatterns += [
    path("", incidents.incident_list, name="incident_list"),
    path("new/", incidents.incident_open, name="incident_open"),
    path("<int:pk>/", incidents.incident, name="incident"),
    path("<int:pk>/move/", incidents.incident_move, name="incident_move"),
    path("<int:pk>/note/", incidents.incident_note, name="incident_note"),
    path("<int:pk>/legal-hold/", incidents.incident_legal_hold, name="incident_legal_hold"),
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
    # broadcast: site messages, their accountability board, and the public roll-call page
    path("broadcasts/", broadcasts.broadcast_list, name="broadcasts"),
    path("broadcasts/new/", broadcasts.broadcast_new, name="broadcast_new"),
    path("broadcasts/<int:pk>/", broadcasts.broadcast_board, name="broadcast"),
    path("broadcasts/<int:pk>/cap.xml", broadcasts.broadcast_cap, name="broadcast_cap"),
    path("broadcasts/<int:pk>/stream", broadcasts.board_stream, name="broadcast_stream"),
    path("broadcasts/<int:pk>/resend/", broadcasts.broadcast_resend, name="broadcast_resend"),
    path("broadcasts/<int:pk>/close/", broadcasts.broadcast_close, name="broadcast_close"),
    path(
        "rollcall/<str:token>/<slug:answer>/",
        broadcasts.roll_call_answer,
        name="roll_call_answer",
    ),
    path("rollcall/<str:token>/", broadcasts.roll_call_details, name="roll_call_details"),
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
