"""Periodic work of accounts: forgetting expired rate-limit counts."""

from __future__ import annotations

from carestory.outbox.registry import register_periodic


@register_periodic("accounts.rate_limit_purge", every_seconds=600)
def purge_rate_limits() -> int:
    from carestory.lib.ratelimit import rate_limit_purge

    return rate_limit_purge()
