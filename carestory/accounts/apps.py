from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "carestory.accounts"
    label = "accounts"

    def ready(self) -> None:
        from carestory.accounts import jobs  # noqa: F401  (registers the rate-limit purge)
