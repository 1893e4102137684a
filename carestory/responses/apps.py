from django.apps import AppConfig


class ResponsesConfig(AppConfig):
    name = "carestory.responses"
    label = "responses"
