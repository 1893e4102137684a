"""gunicorn's access log (carestory/lib/gunicorn_conf.py) carries no link token or address."""

from __future__ import annotations

import datetime
import logging
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config  # type: ignore[import-untyped]

from carestory.lib import gunicorn_conf

ROOT = Path(__file__).resolve().parents[3]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.mark.parametrize(
    "log_format",
    [
        gunicorn_conf.access_log_format,
        # Apache's combined format, which an operator may prefer: the referrer holds the token of
        # the page a request came from.
        '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(U)s %(q)s',
    ],
)
def test_the_access_log_redacts_tokens_and_addresses(log_format: str) -> None:
    cfg = Config()
    cfg.set("logger_class", gunicorn_conf.logger_class)
    cfg.set("accesslog", "-")
    cfg.set("access_log_format", log_format)
    log = cfg.logger_class(cfg)
    records = _Records()
    log.access_log.addHandler(records)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/verify/AccessLogToken123/?email=someone%40example.org",
        "PATH_INFO": "/verify/AccessLogToken123/",
        "QUERY_STRING": "email=someone%40example.org",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": "https://carestory.example.org/sign-in/RefererToken456/",
        "HTTP_USER_AGENT": "test",
    }
    response = SimpleNamespace(
        status="404 Not Found", sent=512, headers=[("X-Request-Id", "0123456789abcdef")]
    )
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    try:
        log.access(response, request, environ, datetime.timedelta(milliseconds=12))
    finally:
        log.access_log.removeHandler(records)

    assert len(records.lines) == 1
    line = records.lines[0]
    assert "/verify/[redacted]/" in line
    for secret in ("AccessLogToken123", "RefererToken456", "someone"):
        assert secret not in line
    if "x-request-id" in log_format:
        assert "request_id=0123456789abcdef" in line


def test_gunicorn_accepts_the_configuration() -> None:
    result = subprocess.run(  # noqa: S603 (our own command line, no input)
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--check-config",
            "-c",
            "python:carestory.lib.gunicorn_conf",
            "carestory.wsgi",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
