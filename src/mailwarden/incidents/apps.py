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
            order=64,
            pages=("incidents:incident", "incidents:incident_open"),
        ),
        NavEntry(
            "incidents:alarms",
            "Alarm console",
            "alert",
            "mailwarden.incidents.services.alarms.VIEW_ALARMS",
            order=65,
        ),
    )
    urls = "mailwarden.incidents.urls"
    url_prefix = "incidents/"
    api_router = "mailwarden.incidents.api.router"
    event_handlers = (
        "mailwarden.incidents.handlers.alarms",
        "mailwarden.incidents.handlers.incidents",
    )
    demo_seeder = "mailwarden.incidents.demo.IncidentsDemo"
