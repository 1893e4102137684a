"""Periodic work of the outbox itself."""

from __future__ import annotations

from carestory.outbox.registry import register_periodic


@register_periodic("outbox.purge", every_seconds=3600)
def purge_finished() -> int:
    """Forget addresses and content of finished rows past the retention period."""
    from carestory.outbox.services import outbox_purge

    return outbox_purge()
