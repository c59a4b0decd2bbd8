from mailwarden.core.plugins import MailwardenApp, NavEntry
from mailwarden.core.roles import Role

PARTS = "tests.core.plugin_app.parts"


class GadgetConfig(MailwardenApp):
    name = "tests.core.plugin_app"
    label = "gadgets"
    verbose_name = "Gadgets"

    nav = (
        # Between "Items" (30) and "Screening queue" (40).
        NavEntry(
            "gadgets:list", "Gadgets", "key", (Role.AUDITOR,), order=31, pages=("gadgets:one",)
        ),
        NavEntry("gadgets:admin", "Gadget admin", "check", f"{PARTS}.GADGET_ADMINS", order=200),
    )
    urls = PARTS
    url_prefix = "gadgets/"
    api_router = f"{PARTS}.router"
    device_scope = f"{PARTS}.gadget_scope"
    event_handlers = ("tests.core.plugin_app.handlers",)
    metrics = f"{PARTS}.metrics"
    demo_seeder = f"{PARTS}.GadgetDemo"
