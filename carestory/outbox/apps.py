from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "carestory.outbox"
    label = "outbox"
