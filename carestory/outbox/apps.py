from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "carestory.outbox"
    label = "outbox"

    def ready(self) -> None:
        from carestory.outbox import jobs  # noqa: F401  (registers the periodic purge)
