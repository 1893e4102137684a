"""Bench-only pieces: a floor view and a middleware that reports each request's SQL.

Used only through ``carestory.synthetic.bench_settings`` (``bench/run.py`` starts gunicorn with
it); the production settings never mount or install them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse


def floor(request: HttpRequest) -> HttpResponse:
    """The cheapest Django page: the whole middleware stack and a tiny response, no SQL. A
    page's throughput is reported as a share of this one's."""
    return HttpResponse(b"ok", content_type="text/plain")


class QueryCountMiddleware:
    """Adds X-Bench-Queries (how many SQL statements), X-Bench-SQL-ms (their total time) and
    X-Bench-View-ms (the whole request inside this middleware) to every response. Works with
    DEBUG off: it wraps the connection's execution, it does not read connection.queries."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        counter = _Counter()
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        response["X-Bench-Queries"] = str(counter.count)
        response["X-Bench-SQL-ms"] = f"{counter.seconds * 1000:.1f}"
        response["X-Bench-View-ms"] = f"{(time.perf_counter() - started) * 1000:.1f}"
        return response


class _Counter:
    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(
        self,
        execute: Callable[..., Any],
        sql: str,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count += 1
            self.seconds += time.perf_counter() - started
