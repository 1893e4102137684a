from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "carestory.moderation"
    label = "moderation"

    def ready(self) -> None:
        from carestory.moderation import jobs  # noqa: F401  (registers outbox guards)
