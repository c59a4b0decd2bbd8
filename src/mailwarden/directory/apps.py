from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "mailwarden.directory"
    label = "directory"
    verbose_name = "Directory"
