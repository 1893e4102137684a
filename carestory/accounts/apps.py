from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "carestory.accounts"
    label = "accounts"
