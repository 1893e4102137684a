from django.apps import AppConfig


class ResponsesConfig(AppConfig):
    name = "carestory.responses"
    label = "responses"

    def ready(self) -> None:
        from carestory.responses import jobs  # noqa: F401  (registers outbox jobs and guards)
