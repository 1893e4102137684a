from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "carestory.subscriptions"
    label = "subscriptions"
