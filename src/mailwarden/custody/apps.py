from mailwarden.core.plugins import MailwardenApp, NavEntry
from mailwarden.core.roles import HANDOVER, INTAKE, VIEW_ITEMS, Role


class CustodyConfig(MailwardenApp):
    name = "mailwarden.custody"
    label = "custody"
    verbose_name = "Custody"

    nav = (
        NavEntry("dashboard", "Dashboard", "gauge", VIEW_ITEMS, order=10),
        NavEntry("intake", "Intake", "inbox", INTAKE, order=20),
        NavEntry(
            "items", "Items", "search", VIEW_ITEMS, order=30, pages=("item_detail", "items_bulk")
        ),
        NavEntry("expected", "Expected", "package", VIEW_ITEMS, order=35),
        NavEntry("pickup", "Pickup", "handover", HANDOVER, order=70, pages=("pickup_item",)),
        NavEntry("my_mail", "My mail", "mail", (Role.RECIPIENT,), order=90, admin_too=False),
    )
    urls = "mailwarden.custody.urls"
    api_router = "mailwarden.custody.api.router"
    event_handlers = ("mailwarden.custody.handlers",)
    # The reminder job.
    periodic_jobs = ("mailwarden.custody.services", "mailwarden.custody.retention")
    media_in_use = "mailwarden.custody.retention.media_in_use"
    metrics = "mailwarden.custody.queries.metrics"
    demo_seeder = "mailwarden.custody.demo.CustodyDemo"
    person_section = "mailwarden.custody.recipient_section.items_section"
    search_provider = "mailwarden.custody.recipient_section.search"
