from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "carestory.alerts"
    label = "alerts"

    def ready(self) -> None:
        from carestory.alerts import jobs  # noqa: F401  (registers the outbox job)
