from django.apps import AppConfig


class ServicesConfig(AppConfig):
    name = "carestory.services"
    label = "services"
