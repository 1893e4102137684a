from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "carestory.reports"
    label = "reports"

    def ready(self) -> None:
        from carestory.reports import jobs  # noqa: F401  (registers the periodic task)
