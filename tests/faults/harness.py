"""The parts the fault tests are built from: a throwaway PostgreSQL cluster, the real programs
(gunicorn, ``manage.py run_worker``) as subprocesses, SMTP servers that misbehave on purpose,
and a cookie-keeping HTTP client that fills in the story form.

Every process is started here in its own session and stopped by its own process group, so a
test never touches anything it did not start (the shared PostgreSQL on 5432 included).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import psycopg
from aiosmtpd.controller import Controller

BASE_DIR = Path(__file__).resolve().parents[2]
PYTHON = str(BASE_DIR / ".venv" / "bin" / "python")
if not Path(PYTHON).exists():  # CI or a developer without the venv: this interpreter
    PYTHON = sys.executable
GUNICORN = [PYTHON, "-m", "gunicorn"]
SERVICE_CODE = "FAULT-W1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(
    predicate: Callable[[], Any], *, timeout: float, interval: float = 0.1, what: str
) -> Any:
    """Poll ``predicate`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception as exc:  # e.g. the database is still starting
            last_error = exc
        else:
            if value:
                return value
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what} (last error: {last_error!r})"
    )


# PostgreSQL -----------------------------------------------------------------------------------


def postgres_bindir() -> Path | None:
    """The newest PostgreSQL server binaries installed (Debian: /usr/lib/postgresql/N/bin)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(re.sub(r"\D", "", Path(p).parent.parent.name) or 0),
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PgCluster:
    """A PostgreSQL cluster of our own, in a temporary directory, on a free port.

    initdb refuses to run as root, so as root every command runs as the ``postgres`` user
    (``runuser``) and the directory belongs to it.
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="carestory-fault-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, user="postgres", group="postgres")

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}\n{result.stderr}")

    def init(self) -> None:
        options = ["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]
        self._run("initdb", "-D", str(self.data), *options)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        log = str(self.log)
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "-t", "60", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        """``immediate`` is a crash: no checkpoint, every connection cut, recovery at start."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart_immediately(self, down_seconds: float) -> None:
        self.stop("immediate")
        time.sleep(down_seconds)
        self.start()

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def execute(self, dbname: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url(dbname), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


# The real programs ----------------------------------------------------------------------------


def app_env(database_url: str, **extra: str | int | float) -> dict[str, str]:
    """The environment of a web or worker process: our database, our SMTP, short timeouts."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "EMAIL_", "OUTBOX_", "DJANGO_", "RATE_LIMIT_"))
    }
    env.update(
        CARESTORY_ENV="test",
        DJANGO_SETTINGS_MODULE="carestory.settings",
        DATABASE_URL=database_url,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT="1",  # nothing listens unless a test says where SMTP is
        EMAIL_USE_TLS="false",
        EMAIL_TIMEOUT="5",
        # Dozens of stories from one address in a minute are the point of these tests.
        RATE_LIMIT_STORIES_PER_HOUR="0",
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="INFO",
    )
    env.update({key: str(value) for key, value in extra.items()})
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run ``manage.py`` to completion; its output, or an error with it."""
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


SEED = f"""
from carestory.services.services import service_create
service_create(code={SERVICE_CODE!r}, name="Fault Ward", kind="department")
"""


def migrate_and_seed(env: dict[str, str]) -> None:
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "shell", "-c", SEED)


def enqueue_emails(env: dict[str, str], count: int, *, prefix: str) -> list[tuple[str, str]]:
    """Queue ``count`` emails in one transaction (as a real event would); their (key, to)."""
    rows = [(f"{prefix}:{n}", f"{prefix}-{n}@example.org") for n in range(count)]
    code = (
        "from django.db import transaction\n"
        "from carestory.outbox.services import email_enqueue\n"
        f"rows = {rows!r}\n"
        "with transaction.atomic():\n"
        "    for key, to in rows:\n"
        "        email_enqueue(dedupe_key=key, to=to, template='outbox_test',\n"
        "                      context={'title': key, 'name': 'Fault'})\n"
    )
    manage(env, "shell", "-c", code)
    return rows


def expected_message_id(dedupe_key: str) -> str:
    """The Message-ID the outbox gives the email of this dedupe key (kept stable on purpose)."""
    from carestory.outbox.services import message_id_for

    return message_id_for(dedupe_key)


@dataclass
class Proc:
    """A program we started, in its own process group, logging to a file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole group we created (gunicorn's workers too), and nothing else."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 10) -> None:
        if not self.alive():
            return
        self.kill(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            self.popen.wait(5)


class Programs:
    """Starts gunicorn and workers; stops whatever is still running at the end of a test."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[Proc] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> Proc:
        log = self.log_dir / f"{name}-{len(self.procs)}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def web(self, env: dict[str, str], *, workers: int = 2) -> tuple[Proc, str]:
        """gunicorn serving carestory.wsgi; returns it and its base URL once it answers."""
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**env, "SITE_URL": base}
        bind = f"127.0.0.1:{port}"
        options = f"--workers {workers} --timeout 60 --graceful-timeout 2".split()
        proc = self.start(
            "gunicorn", [*GUNICORN, "carestory.wsgi:application", "--bind", bind, *options], env
        )

        def ready() -> bool:
            assert proc.alive(), f"gunicorn exited:\n{proc.output()[-3000:]}"
            return Browser(base).get("/healthz").status == 200

        wait_until(ready, timeout=30, interval=0.2, what="gunicorn to answer /healthz")
        return proc, base

    def worker(self, env: dict[str, str], *args: str) -> Proc:
        return self.start(
            "worker", [PYTHON, "manage.py", "run_worker", "--interval", "0.2", *args], env
        )

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.stop()

    def report(self) -> str:
        """The end of every log: printed at teardown, so shown when a test fails."""
        return "\n".join(
            f"----- {proc.name} pid {proc.pid} (exit {proc.popen.returncode}) -----\n"
            + "\n".join(line[:300] for line in proc.output().splitlines()[-40:])
            for proc in self.procs
        )


def run_worker_once(env: dict[str, str], *, timeout: float = 60) -> tuple[float, str]:
    """``run_worker --once`` (one batch) to completion: seconds taken and its output."""
    started = time.monotonic()
    output = manage(env, "run_worker", "--once", "--no-periodic", timeout=timeout)
    return time.monotonic() - started, output


# HTTP -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect comes back as the response itself


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "input":
            found = dict(attrs)
            if found.get("name") and found.get("type") == "hidden":
                self.values[found["name"] or ""] = found.get("value") or ""


class Browser:
    """One person: a cookie jar, no JavaScript, redirects returned rather than followed."""

    def __init__(self, base: str) -> None:
        if not base.startswith("http://127.0.0.1:"):
            raise ValueError("The fault tests only talk to servers they started")
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect()
        )

    def _open(self, request: urllib.request.Request) -> Page:
        try:
            with self.opener.open(request, timeout=60) as response:
                return Page(
                    response.status,
                    {k.lower(): v for k, v in response.headers.items()},
                    response.read().decode(),
                )
        except urllib.error.HTTPError as error:
            return Page(
                error.code, {k.lower(): v for k, v in error.headers.items()}, error.read().decode()
            )

    def get(self, path: str) -> Page:
        return self._open(urllib.request.Request(self.base + path))  # noqa: S310 (our http only)

    def post(self, path: str, data: dict[str, str]) -> Page:
        body = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(self.base + path, data=body, method="POST")  # noqa: S310
        return self._open(request)


TELL = "/tell-your-story/"


@dataclass
class StoryAttempt:
    """One story told through the form: what was sent and what the person saw."""

    browser: Browser
    data: dict[str, str]
    outcomes: list[str] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.data["idempotency_key"]


def open_story_form(browser: Browser, n: int) -> StoryAttempt | Page:
    """GET the form (a CSRF cookie and a fresh idempotency key); the page if it failed."""
    page = browser.get(f"{TELL}?service={SERVICE_CODE}")
    if page.status != 200:
        return page
    inputs = _Inputs()
    inputs.feed(page.text)
    data = {
        "service": SERVICE_CODE,
        "csrfmiddlewaretoken": inputs.values["csrfmiddlewaretoken"],
        "idempotency_key": inputs.values["idempotency_key"],
        "title": f"Fault story {n}",
        "body": f"Story number {n}: the nurses were kind and explained everything to me.",
        "author_role": "patient",
        "screen_name": "Grateful patient",
        "email": f"teller-{n}@example.org",
        "consent": "on",
    }
    return StoryAttempt(browser, data)


def send_story(attempt: StoryAttempt) -> str:
    """POST the form and follow to the confirmation; what the person was told.

    ``saved``: the "Check your email" page. ``not-saved``: 503 saying it was not saved and to
    send again. ``unsure``: 503 saying it may have been saved and to send again. Anything else
    is returned as ``bad <status>`` for the test to fail on.
    """
    page = attempt.browser.post(TELL, attempt.data)
    attempt.pages.append(page)
    if page.status == 302 and page.location.endswith("/tell-your-story/sent/"):
        page = attempt.browser.get(page.location)
        attempt.pages.append(page)
        if page.status == 200 and "We have saved your story" in page.text:
            outcome = "saved"
        elif page.status == 503 and "Sorry, this page is not available right now" in page.text:
            outcome = "unsure"  # saved, but the confirmation page could not be shown
        else:
            outcome = f"bad {page.status}"
    elif page.status == 503 and "Retry-After" in {k.title() for k in page.headers}:
        if "nothing you sent was saved" in page.text:
            outcome = "not-saved"
        elif "cannot be sure what you sent was saved" in page.text:
            outcome = "unsure"
        else:
            outcome = "bad 503"
        if "send the form again" not in page.text or "Traceback" in page.text:
            outcome = "bad 503"
    else:
        outcome = f"bad {page.status}"
    attempt.outcomes.append(outcome)
    return outcome


# SMTP -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    message_id: str
    to: tuple[str, ...]
    subject: str


def _message_id(raw: bytes) -> str:
    message = message_from_bytes(raw, policy=policy.default)
    return str(message["Message-ID"] or "").strip()


class FaultSmtp:
    """aiosmtpd on 127.0.0.1 whose behaviour a test changes while it runs.

    ``mode``: ``ok``; ``slow`` (``delay`` seconds before accepting each message); ``temp_fail``
    (421 at DATA the first time each Message-ID is offered, then OK); ``perm_fail_rcpt`` (550
    at RCPT); ``perm_fail_data`` (554 at DATA); ``hang`` (never answers DATA until released).
    ``delivered`` holds what was accepted; ``offered`` every Message-ID seen at DATA.
    """

    def __init__(self, mode: str = "ok", *, delay: float = 0.0) -> None:
        self.mode = mode
        self.delay = delay
        self.port = free_port()
        self.delivered: list[Delivery] = []
        self.offered: list[str] = []
        self.released = threading.Event()
        self._lock = threading.Lock()
        self._controller = Controller(_FaultHandler(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> FaultSmtp:
        # aiosmtpd logs every command and address at INFO; keep test output free of them.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self._controller.start()
        return self

    def stop(self) -> None:
        self.released.set()
        with contextlib.suppress(Exception):
            self._controller.stop()

    def __enter__(self) -> FaultSmtp:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def message_ids(self) -> list[str]:
        with self._lock:
            return [d.message_id for d in self.delivered]

    def every_email_arrived(self, rows: list[tuple[str, str]]) -> Counter[str]:
        """Check that each email queued as ``rows`` (from ``enqueue_emails``) arrived, at its
        address, and nothing else did (a repeat carries the same Message-ID, never a new one);
        how many times each Message-ID arrived."""
        addressee = {expected_message_id(key): to for key, to in rows}
        received = Counter(self.message_ids())
        missing = set(addressee) - set(received)
        assert not missing, f"{len(missing)} emails never arrived"
        assert set(received) == set(addressee)
        with self._lock:
            for delivery in self.delivered:
                assert delivery.to == (addressee[delivery.message_id],)
        return received


class _FaultHandler:
    def __init__(self, server: FaultSmtp) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.server.mode == "perm_fail_rcpt":
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        raw = raw.encode() if isinstance(raw, str) else raw
        message_id = _message_id(raw)
        fault = self.server
        with fault._lock:
            first_offer = message_id not in fault.offered
            fault.offered.append(message_id)
        mode = fault.mode
        if mode == "temp_fail" and first_offer:
            return "421 4.3.2 Service busy, try again later"
        if mode == "perm_fail_data":
            return "554 5.7.1 Message rejected"
        if mode == "hang":
            while not fault.released.is_set():
                await asyncio.sleep(0.05)
            return "421 4.4.2 Too late"  # the client gave up long ago
        if mode == "slow":
            await asyncio.sleep(fault.delay)
        message = message_from_bytes(raw, policy=policy.default)
        with fault._lock:
            fault.delivered.append(
                Delivery(message_id, tuple(envelope.rcpt_tos), str(message["Subject"] or ""))
            )
        return "250 Message accepted for delivery"


class DroppingSmtp:
    """Speaks SMTP up to DATA, reads part of the message, then closes the connection.

    ``offered`` holds the Message-ID header of every message it cut off.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.offered: list[str] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", self.port))
        self._sock.listen(8)
        self._sock.settimeout(0.2)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> DroppingSmtp:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _addr = self._sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                with contextlib.suppress(OSError):
                    self._session(conn)

    def _session(self, conn: socket.socket) -> None:
        stream = conn.makefile("rb")
        conn.sendall(b"220 dropper ESMTP\r\n")
        for line in iter(stream.readline, b""):
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                conn.sendall(b"250-dropper\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                conn.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                head = b""
                while b"\r\n\r\n" not in head:  # the headers, then part of the body
                    chunk = stream.readline()
                    if not chunk:
                        break
                    head += chunk
                self.offered.append(_message_id(head + b"\r\n"))
                conn.shutdown(socket.SHUT_RDWR)  # mid-message: no reply, connection gone
                return
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"250 OK\r\n")


@contextlib.contextmanager
def background(target: Callable[[threading.Event], None]) -> Iterator[threading.Event]:
    """Run ``target(stop)`` in a thread; set ``stop`` and join it on the way out."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target(stop)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(90)
    if errors:
        raise errors[0]
