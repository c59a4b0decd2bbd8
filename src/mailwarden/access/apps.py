from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "mailwarden.access"
    label = "access"
    verbose_name = "Access"

    def ready(self) -> None:
        # Registers check_controllers with the periodic tick.
        from mailwarden.access import services  # noqa: F401
