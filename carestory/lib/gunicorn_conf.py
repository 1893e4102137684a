"""gunicorn settings for production: an access log without link tokens or addresses.

    gunicorn carestory.wsgi -c python:carestory.lib.gunicorn_conf --workers 4 --bind 127.0.0.1:8000

The access log's request line and referrer hold the single-use tokens of /sign-in/<token>/,
/verify/<token>/ and /answer/<token>/ (the referrer too, since pages send it to their own
origin), and a query string can hold an address; every atom goes through the same ``scrub``
as the application's log. The format leaves out the client address and user agent, and carries
the request id (the X-Request-Id response header), to match a line with the application's log.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger, SafeAtoms  # type: ignore[import-untyped]

from carestory.lib.logging import scrub


class ScrubbedAtoms(SafeAtoms):
    """gunicorn's access log atoms, each scrubbed when the format asks for it."""

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        return scrub(value) if isinstance(value, str) else value


class ScrubbingLogger(Logger):
    atoms_wrapper_class = ScrubbedAtoms


logger_class = ScrubbingLogger
accesslog = "-"
access_log_format = '%(t)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
