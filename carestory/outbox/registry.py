"""Named job handlers and guards for the outbox.

Apps register theirs from ``AppConfig.ready``; outbox rows store only the name, so a handler
can be renamed only by keeping the old name registered until the old rows have drained.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

JobHandler = Callable[[dict[str, Any]], None]
Guard = Callable[[dict[str, Any]], bool]

Refresh = Callable[[dict[str, Any]], dict[str, Any] | None]

_jobs: dict[str, JobHandler] = {}
_guards: dict[str, Guard] = {}
_refreshes: dict[str, Refresh] = {}


class UnknownHandlerError(LookupError):
    """No job handler or guard is registered under this name."""


def _check_name(name: str) -> None:
    if not name or len(name) > 80:
        raise ValueError("An outbox handler name must be 1 to 80 characters long")


def register_job(name: str) -> Callable[[JobHandler], JobHandler]:
    """Register ``fn(payload) -> None`` as the handler of job ``name``."""
    _check_name(name)

    def decorator(fn: JobHandler) -> JobHandler:
        existing = _jobs.get(name)
        if existing is not None and existing is not fn:
            raise ValueError(f"Outbox job {name!r} is already registered")
        _jobs[name] = fn
        return fn

    return decorator


def register_guard(name: str) -> Callable[[Guard], Guard]:
    """Register ``fn(args) -> bool`` as guard ``name``: True means still OK to send."""
    _check_name(name)

    def decorator(fn: Guard) -> Guard:
        existing = _guards.get(name)
        if existing is not None and existing is not fn:
            raise ValueError(f"Outbox guard {name!r} is already registered")
        _guards[name] = fn
        return fn

    return decorator


def register_refresh(name: str) -> Callable[[Refresh], Refresh]:
    """Register ``fn(context) -> context | None`` as refresh ``name``: called when the email is
    sent, it returns the context to render (rebuilt from what is true now), or None to cancel
    the email (nothing left to say)."""
    _check_name(name)

    def decorator(fn: Refresh) -> Refresh:
        existing = _refreshes.get(name)
        if existing is not None and existing is not fn:
            raise ValueError(f"Outbox refresh {name!r} is already registered")
        _refreshes[name] = fn
        return fn

    return decorator


def get_refresh(name: str) -> Refresh:
    try:
        return _refreshes[name]
    except KeyError:
        raise UnknownHandlerError(f"No outbox refresh registered as {name!r}") from None


def get_job(name: str) -> JobHandler:
    try:
        return _jobs[name]
    except KeyError:
        raise UnknownHandlerError(f"No outbox job registered as {name!r}") from None


def get_guard(name: str) -> Guard:
    try:
        return _guards[name]
    except KeyError:
        raise UnknownHandlerError(f"No outbox guard registered as {name!r}") from None


Periodic = Callable[[], int]
_periodic: dict[str, tuple[float, Periodic]] = {}


def register_periodic(name: str, *, every_seconds: float) -> Callable[[Periodic], Periodic]:
    """Register an idempotent ``fn() -> count`` that every worker runs about every N seconds.

    Several workers may run it at once: it must be safe to overlap (conditional updates). The
    same work is also a management command, for cron, where no worker runs."""
    _check_name(name)

    def decorator(fn: Periodic) -> Periodic:
        existing = _periodic.get(name)
        if existing is not None and existing[1] is not fn:
            raise ValueError(f"Periodic task {name!r} is already registered")
        _periodic[name] = (every_seconds, fn)
        return fn

    return decorator


def periodic_tasks() -> dict[str, tuple[float, Periodic]]:
    return dict(_periodic)
