from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "carestory.workspace"
    label = "workspace"
