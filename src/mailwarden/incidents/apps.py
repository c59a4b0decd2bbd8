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
            "incidents:playbooks",
            "Playbooks",
            "shield",
            "mailwarden.incidents.services.playbooks.VIEW_PLAYBOOKS",
            order=67,
            pages=("incidents:playbook_edit", "incidents:steps"),
        ),
    )
    urls = "mailwarden.incidents.urls"
    url_prefix = "incidents/"
    api_router = "mailwarden.incidents.api.router"
    event_handlers = ("mailwarden.incidents.handlers.alarms",)
    periodic_jobs = ("mailwarden.incidents.services.playbooks",)
    demo_seeder = "mailwarden.incidents.demo.IncidentsDemo"
