from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "carestory.reports"
    label = "reports"
