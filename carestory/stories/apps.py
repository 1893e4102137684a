from django.apps import AppConfig


class StoriesConfig(AppConfig):
    name = "carestory.stories"
    label = "stories"
