from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "carestory.audit"
    label = "audit"
