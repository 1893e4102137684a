from django.apps import AppConfig


class AutomodConfig(AppConfig):
    """The assisted-moderation checks: rules, the criticality model and the author's guidance.

    Called by stories (at submission, as a job) and by the moderation workbench; it owns no
    tables and knows nothing of either."""

    name = "carestory.automod"
    label = "automod"
