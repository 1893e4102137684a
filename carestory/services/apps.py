from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ServicesConfig(AppConfig):
    name = "carestory.services"
    label = "services"

    def ready(self) -> None:
        # Search indexes outside the model state (FTS5 triggers, trigram index) are put back
        # after any migration that rebuilt the table; see carestory/services/search.py.
        from carestory.services.search import search_index_ensure

        post_migrate.connect(search_index_ensure, sender=self)
