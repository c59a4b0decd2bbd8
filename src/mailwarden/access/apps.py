from mailwarden.core.plugins import MailwardenApp, NavEntry

# Access control is one menu entry; its pages have their own tabs.
_PAGES = (
    "lockdown",
    "lift",
    "log",
    "report",
    "cardholders",
    "cardholder_new",
    "cardholder",
    "credential_issue",
    "credentials",
    "credential",
    "credential_levels",
    "credential_revoke",
    "levels",
    "level_new",
    "level_edit",
    "schedules",
    "schedule_new",
    "schedule_edit",
    "holiday_add",
)


class AccessConfig(MailwardenApp):
    name = "mailwarden.access"
    label = "access"
    verbose_name = "Access"

    nav = (
        NavEntry(
            "access:board",
            "Access control",
            "key",
            "mailwarden.access.services.VIEW_ACCESS",
            order=60,
            pages=tuple(f"access:{page}" for page in _PAGES),
        ),
    )
    urls = "mailwarden.access.urls"
    url_prefix = "access/"
    api_router = "mailwarden.access.api.router"
    # An edge controller's token reaches only its sync operations.
    device_scope = "mailwarden.access.api.controller_scope"
    # check_controllers, on the periodic tick.
    periodic_jobs = ("mailwarden.access.services", "mailwarden.access.retention")
    demo_seeder = "mailwarden.access.demo.AccessDemo"
