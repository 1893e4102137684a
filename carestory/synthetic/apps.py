from django.apps import AppConfig


class SyntheticConfig(AppConfig):
    """A synthetic national dataset for measuring the site (no models)."""

    name = "carestory.synthetic"
    label = "synthetic"
