from django.apps import AppConfig


class RefbenchConfig(AppConfig):
    name = "refbench"
