from mailwarden.core.plugins import MailwardenApp, NavEntry


class IncidentsConfig(MailwardenApp):
    name = "mailwarden.incidents"
    label = "incidents"
    verbose_name = "Incidents"

    # Shown to whoever the page admits: the roles are the ones the view checks.
    nav = (
        NavEntry(
            "incidents:incident_list",
            "Incidents",
            "shield",
            "mailwarden.incidents.services.incidents.VIEW_INCIDENTS",
            order=62,
            pages=("incidents:incident", "incidents:incident_open"),
        ),
        NavEntry(
            "incidents:alarms",
            "Alarm console",
            "alert",
            "mailwarden.incidents.services.alarms.VIEW_ALARMS",
            order=61,
            pages=("incidents:cap_received", "incidents:cap_alert"),
        ),
        NavEntry(
            "incidents:exercises",
            "Exercises and reports",
            "check",
            "mailwarden.incidents.services.exercises.VIEW_EXERCISES",
            order=66,
            pages=(
                "incidents:exercise",
                "incidents:exercise_start",
                "incidents:report",
                "incidents:report_edit",
            ),
        ),
        NavEntry(
            "incidents:dead_letters",
            "Dead letters",
            "inbox",
            "mailwarden.incidents.services.delivery.VIEW_DEAD_LETTERS",
            order=67,
            pages=(
                "incidents:replay_deliveries",
                "incidents:replay_events",
                "incidents:webhooks",
                "incidents:webhook_new",
                "incidents:webhook_switch",
                "incidents:webhook_delete",
            ),
        ),
        NavEntry(
            "incidents:inbox",
            "Messages",
            "mail",
            "mailwarden.incidents.services.delivery.INBOX",
            order=95,
            admin_too=False,
            pages=("incidents:mark_read",),
        ),
        NavEntry(
            "incidents:playbooks",
            "Playbooks",
            "shield",
            "mailwarden.incidents.services.playbooks.VIEW_PLAYBOOKS",
            order=65,
            pages=("incidents:playbook_edit", "incidents:steps"),
        ),
        NavEntry(
            "incidents:broadcasts",
            "Site messages",
            "mail",
            "mailwarden.incidents.services.broadcasts.VIEW_BROADCASTS",
            order=63,
            pages=("incidents:broadcast", "incidents:broadcast_new"),
        ),
        NavEntry(
            "incidents:oncall",
            "On call",
            "person",
            "mailwarden.incidents.services.escalation.VIEW_ESCALATION",
            order=64,
            pages=(
                "incidents:escalation_policies",
                "incidents:escalation_policy",
                "incidents:escalation_schedules",
                "incidents:escalation_schedule",
            ),
        ),
    )
    urls = "mailwarden.incidents.urls"
    url_prefix = "incidents/"
    api_router = "mailwarden.incidents.api.router"
    device_scope = "mailwarden.incidents.api.cap.cap_feed_scope"
    event_handlers = (
        "mailwarden.incidents.handlers.alarms",
        "mailwarden.incidents.handlers.delivery",
        "mailwarden.incidents.handlers.incidents",
        "mailwarden.incidents.handlers.broadcasts",
        "mailwarden.incidents.handlers.escalation",
        "mailwarden.incidents.handlers.surveillance",
    )
    periodic_jobs = (
        "mailwarden.incidents.delivery.sender",
        "mailwarden.incidents.services.playbooks",
        "mailwarden.incidents.services.escalation",
    )
    demo_seeder = "mailwarden.incidents.demo.IncidentsDemo"
    # Legal holds on incidents keep their linked items' content; their evidence files stay.
    legal_holds = "mailwarden.incidents.services.legal_holds.items_held"
    media_in_use = "mailwarden.incidents.services.legal_holds.media_in_use"
    # A playbook's steps, for the courses that teach them.
    text_blocks = "mailwarden.incidents.text_blocks.BLOCKS"
