from django.apps import AppConfig


class PageCacheConfig(AppConfig):
    name = "carestory.pagecache"
    label = "pagecache"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate, pre_migrate

        from carestory.pagecache.invalidation import (
            bump_after_migrate,
            pause_during_migrate,
            watch_connection,
        )

        # Every database connection learns to notice writes to tables public pages show.
        connection_created.connect(watch_connection, dispatch_uid="pagecache.watch_connection")
        pre_migrate.connect(pause_during_migrate, dispatch_uid="pagecache.pause")
        post_migrate.connect(bump_after_migrate, sender=self, dispatch_uid="pagecache.bump")
