from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "carestory.alerts"
    label = "alerts"
