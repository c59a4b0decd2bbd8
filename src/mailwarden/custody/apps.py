from django.apps import AppConfig


class CustodyConfig(AppConfig):
    name = "mailwarden.custody"
    label = "custody"
    verbose_name = "Custody"

    def ready(self) -> None:
        # The outbox handlers, and the reminder job (a periodic tick job in services).
        from mailwarden.custody import handlers, services  # noqa: F401
