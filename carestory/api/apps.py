from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "carestory.api"
    label = "api"
