from django.apps import AppConfig


class SyntheticConfig(AppConfig):
    """The demo data (``seed_demo``) and a synthetic national dataset for measuring the site.
    No models."""

    name = "carestory.synthetic"
    label = "synthetic"
