from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "mailwarden.core"
    label = "core"
    verbose_name = "mailwarden core"

    def ready(self) -> None:
        from mailwarden.core import audit  # noqa: F401  (connects the sign-in signal receivers)
