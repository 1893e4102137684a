from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "carestory.moderation"
    label = "moderation"
