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
            "incidents:broadcasts",
            "Site messages",
            "mail",
            "mailwarden.incidents.services.broadcasts.VIEW_BROADCASTS",
            order=67,
            pages=("incidents:broadcast", "incidents:broadcast_new"),
        ),
    )
    urls = "mailwarden.incidents.urls"
    url_prefix = "incidents/"
    api_router = "mailwarden.incidents.api.router"
    event_handlers = (
        "mailwarden.incidents.handlers.alarms",
        "mailwarden.incidents.handlers.broadcasts",
    )
    demo_seeder = "mailwarden.incidents.demo.IncidentsDemo"
