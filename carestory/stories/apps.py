from django.apps import AppConfig


class StoriesConfig(AppConfig):
    name = "carestory.stories"
    label = "stories"

    def ready(self) -> None:
        from carestory.stories import jobs  # noqa: F401  (registers outbox jobs and a guard)
