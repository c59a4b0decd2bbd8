from mailwarden.core.plugins import MailwardenApp, NavEntry


class IncidentsConfig(MailwardenApp):
    name = "mailwarden.incidents"
    label = "incidents"
    verbose_name = "Incidents"

    # Shown to whoever the page admits: the roles are the ones the view checks.
    nav = (
        NavEntry(
            "incidents:alarms",
            "Alarm console",
            "alert",
            "mailwarden.incidents.services.alarms.VIEW_ALARMS",
            order=65,
        ),
        NavEntry(
            "incidents:oncall",
            "On call",
            "person",
            "mailwarden.incidents.services.escalation.VIEW_ESCALATION",
            order=68,
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
    event_handlers = (
        "mailwarden.incidents.handlers.alarms",
        "mailwarden.incidents.handlers.escalation",
    )
    periodic_jobs = ("mailwarden.incidents.services.escalation",)
    demo_seeder = "mailwarden.incidents.demo.IncidentsDemo"
