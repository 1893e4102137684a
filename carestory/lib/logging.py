"""Structured JSON logs with a request id. Log messages carry ids, never story text or PII.

Code logs ids, not values; this module is the safety net for text that code does not
control: exception messages and tracebacks (a PostgreSQL unique violation names the
duplicated value in its ``DETAIL``), Django's debug SQL (parameters interpolated), URLs with
single-use tokens in them. ``scrub`` is the one function that removes such values; the JSON
formatter applies it to the message, the exception and the stack, and ``ScrubFilter`` applies
it to the development server's access log (which has its own formatter). The gunicorn access
log uses it too (``carestory/lib/gunicorn_conf.py``).

Every pattern here runs in linear time: no nested or adjacent unbounded quantifiers over the
same characters, and the email check is a plain scan over separator-delimited words.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

REDACTED = "[redacted]"

# The URL segment after one of these is a single-use secret (sign in, confirm a story, answer a
# moderator, choose a new password). carestory/lib/tests/test_logging.py checks that every URL
# pattern with a token parameter, and every view in lib.tokens.SECRET_LINK_VIEWS, is covered.
TOKEN_URL_PREFIXES = ("sign-in", "verify", "answer", "password-reset", "join")

_TOKEN_URL = re.compile(
    r"((?:/|%2f)(?:" + "|".join(map(re.escape, TOKEN_URL_PREFIXES)) + r")(?:/|%2f))"
    r"[^/?#&%\s\"'<>]+",
    re.IGNORECASE,
)
# A word between separators; the ones holding an "@" (or "%40") are checked for an address.
_WORD = re.compile(r"[^\s\"'`<>()\[\]{},;:=/\\|&?!*]+")
# UK postcodes (the author's location), upper or lower case, with or without the space.
_POSTCODE = re.compile(r"\b[A-Z]{1,2}[0-9][A-Z0-9]?[ \t]?[0-9][A-Z]{2}\b", re.IGNORECASE)
# PostgreSQL's DETAIL line ("Key (email)=(x@example.org) already exists.", "Failing row
# contains (...)"): every value in it goes, the column names and the verdict stay.
_PG_DETAIL = re.compile(r"DETAIL:[ \t]*([^\n]*)")
# Lines in which PostgreSQL echoes SQL text, and so the literals a client-side bound query holds.
_PG_SQL_ECHO = re.compile(r"^([ \t]*(?:LINE [0-9]+|CONTEXT|QUERY|STATEMENT):)([^\n]*)", re.M)
# Messages that quote the offending input: PostgreSQL's 'invalid input syntax for type uuid:
# "..."', 'date/time field value out of range: "..."'.
_PG_QUOTED_INPUT = re.compile(r'((?:invalid input|out of range)[^"\n]{0,200}): "[^"\n]*"')
# Django's field errors: 'Field 'id' expected a number but got 'x'.', '“x” is not a valid UUID.'
_BUT_GOT = re.compile(r"(expected [^\n]{0,120}? but got )('[^'\n]*'|\"[^\"\n]*\"|[^\n]*)")
_CURLY_QUOTED = re.compile(r"“[^“”\n]*”")
# SQLite: 'near "...": syntax error' quotes the statement text.
_SQLITE_NEAR = re.compile(r'near "[^"\n]*"')
# SQL literals: strings ('it''s' is two adjacent literals, both replaced) and numbers.
_SQL_STRING = re.compile(r"'[^']*'")
_SQL_NUMBER = re.compile(r"\b[0-9]+(?:\.[0-9]+)?\b")


def _looks_like_address(word: str) -> bool:
    local, at, domain = word.replace("%40", "@").partition("@")
    return bool(at and local and "." in domain.strip("."))


def _redact_word(match: re.Match[str]) -> str:
    word = match.group()
    return "[email]" if _looks_like_address(word) else word


def _redact_detail(match: re.Match[str]) -> str:
    rest = match.group(1)
    if rest.startswith("Key (") and ")=(" in rest:
        columns, _, values = rest[len("Key (") :].partition(")=(")
        verdict = values[values.rfind(")") + 1 :] if ")" in values else ""
        return f"DETAIL:  Key ({columns})=({REDACTED}){verdict}"
    return f"DETAIL:  {REDACTED}"


def scrub_sql(sql: str) -> str:
    """SQL with every string and number literal replaced by ``?`` (the statement's shape stays)."""
    return _SQL_NUMBER.sub("?", _SQL_STRING.sub("'?'", sql))


def _redact_sql_echo(match: re.Match[str]) -> str:
    return match.group(1) + scrub_sql(match.group(2))


def scrub(text: str) -> str:
    """``text`` without values: addresses, postcodes, link tokens, quoted database input."""
    if "/" in text or "%2" in text:
        text = _TOKEN_URL.sub(r"\1" + REDACTED, text)
    if "DETAIL:" in text:
        text = _PG_DETAIL.sub(_redact_detail, text)
    if "LINE " in text or "CONTEXT:" in text or "QUERY:" in text or "STATEMENT:" in text:
        text = _PG_SQL_ECHO.sub(_redact_sql_echo, text)
    if "invalid input" in text or "out of range" in text:
        text = _PG_QUOTED_INPUT.sub(r'\1: "' + REDACTED + '"', text)
    if " but got " in text:
        text = _BUT_GOT.sub(r"\1" + REDACTED, text)
    if "“" in text:
        text = _CURLY_QUOTED.sub("“" + REDACTED + "”", text)
    if 'near "' in text:
        text = _SQLITE_NEAR.sub('near "' + REDACTED + '"', text)
    if "@" in text or "%40" in text:
        text = _WORD.sub(_redact_word, text)
    return _POSTCODE.sub("[postcode]", text)


def scrubbed_message(record: logging.LogRecord) -> str:
    """The record's message, scrubbed; Django's debug SQL loses its literals and parameters."""
    sql = getattr(record, "sql", None)
    if isinstance(sql, str):  # django.db.backends (and .schema): the SQL with params filled in
        duration = getattr(record, "duration", None)
        prefix = f"({duration:.3f}) " if isinstance(duration, float) else ""
        return scrub(prefix + scrub_sql(sql))
    try:
        message = record.getMessage()
    except Exception:  # a bad format string must not lose the line, nor print its arguments
        message = str(record.msg)
    return scrub(message)


def _request_id(record: logging.LogRecord) -> str:
    # django.request logs 4xx/5xx responses after the middleware has returned (and reset the
    # context variable), but it passes the request along.
    request_id = getattr(getattr(record, "request", None), "request_id", None)
    return request_id if isinstance(request_id, str) else request_id_var.get()


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id(record)
        return True


class ScrubFilter(logging.Filter):
    """Rewrites a record's message through ``scrub``, for handlers that do not use
    ``JsonFormatter`` (the development server's access log: its request line holds link
    tokens)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrubbed_message(record)
        record.args = ()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = scrubbed_message(record).replace("\r", "\\r").replace("\n", "\\n")
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None) or _request_id(record),
            "message": message,
        }
        # exc_text may have been cached by another handler's formatter: scrub it too.
        exception = record.exc_text
        if not exception and record.exc_info:
            exception = self.formatException(record.exc_info)
        if exception:
            entry["exception"] = scrub(exception)
        if record.stack_info:
            entry["stack"] = scrub(self.formatStack(record.stack_info))
        return json.dumps(entry)
