from django.apps import AppConfig


class CustodyConfig(AppConfig):
    name = "mailwarden.custody"
    label = "custody"
    verbose_name = "Custody"

    def ready(self) -> None:
        from mailwarden.custody import handlers  # noqa: F401  (registers outbox handlers)
