from mailwarden.core.plugins import MailwardenApp, NavEntry
from mailwarden.core.roles import VIEW_ITEMS


class DirectoryConfig(MailwardenApp):
    name = "mailwarden.directory"
    label = "directory"
    verbose_name = "Directory"

    nav = (
        NavEntry(
            "directory:recipients",
            "Recipients",
            "people",
            VIEW_ITEMS,
            order=80,
            pages=(
                "directory:recipients_import",
                "directory:recipient",
                "directory:recipient_add",
                "directory:recipient_edit",
                "directory:recipient_deactivate",
            ),
        ),
        NavEntry(
            "directory:sites", "Sites", "building", VIEW_ITEMS, order=85, pages=("directory:site",)
        ),
    )
    urls = "mailwarden.directory.urls"
    api_router = "mailwarden.directory.api.router"
    demo_seeder = "mailwarden.directory.demo.DirectoryDemo"
    search_provider = "mailwarden.directory.search.search"
    periodic_jobs = ("mailwarden.directory.retention",)
    # Identity providers pushing people by SCIM: their tokens reach only the SCIM endpoints.
    device_scope = "mailwarden.directory.scim.scim_scope"
