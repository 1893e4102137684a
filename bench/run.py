"""`make bench`: every public, staff and API page on one synthetic dataset, under load, beside a
bare Django view (the floor), on production settings, gunicorn and PostgreSQL.

    make bench                                  # BENCH_STORIES=100000: about 10 minutes
    BENCH_STORIES=1000000 make bench            # the national figure (load ~10 min the first time)

Steps (every step is bounded in time; everything listens on 127.0.0.1 only):

1. the database: DATABASE_URL, or postgres://postgres@127.0.0.1:5432/carestory_bench for
   1,000,000 stories and .../carestory_bench_<N> for any other N (created if missing),
   migrated; the service tree imported from ../shared/data when the tree is small (else the
   demo slice); ``generate_synthetic --stories N --seed S`` unless the database
   already holds that dataset (same N, seed and generator version: it is reused);
2. collectstatic, then gunicorn with CARESTORY_ENV=production (a throwaway SECRET_KEY), 2 sync
   workers, DJANGO_SETTINGS_MODULE=carestory.synthetic.bench_settings: the production settings
   plus a floor view (/__bench__/floor) and a middleware adding X-Bench-Queries and
   X-Bench-SQL-ms to each response; beside it the outbox worker (manage.py run_worker, email to
   a dummy backend; BENCH_OUTBOX_WORKER=0 leaves it out). Requests carry X-Forwarded-Proto:
   https, as behind the TLS proxy; signed-in pages use sessions made for a synthetic responder
   (South Tees) and moderator;
3. warm-up (each page once), then BENCH_ROUNDS rounds (default 3). In each round, for each
   page: the floor for BENCH_FLOOR_SECONDS, one probe request (status, queries, SQL time,
   latency), then wrk for BENCH_SECONDS with BENCH_CONNECTIONS (16) connections. A page whose
   probe takes over BENCH_SLOW_MS (250 ms) is measured with 2 connections (one per worker) for
   up to 3 probe times (max 30 s) so that a slow page cannot pile up queued requests; a probe
   over BENCH_TIMEOUT (60 s) is recorded as a timeout and the page skipped for that round.
   Before the next measurement the server must answer the floor quickly again (bounded wait);
4. the median over rounds of each figure; each page's throughput as a ratio to the median
   floor throughput of the same rounds; the gunicorn workers' resident memory (largest seen).

Results: bench/results/<date>[-<BENCH_LABEL>].json, and the table in docs/performance.md
between the markers of BENCH_DOC_SECTION ("latest", or "baseline"). The stories the POST
measurement made are deleted afterwards; the database is left in place for the next run.
"""

# The bench runs fixed programs of its own (manage.py, gunicorn, wrk, psql, git, apt-get) and
# fetches only http://127.0.0.1: nothing it starts or opens comes from input.
# ruff: noqa: S603, S607, S310

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "performance.md"
SHARED_DATA = ROOT.parent / "shared" / "data"

NATIONAL = 1_000_000


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


STORIES = env_int("BENCH_STORIES", 100_000)
SEED = env_int("BENCH_SEED", 1)
ROUNDS = env_int("BENCH_ROUNDS", 3)
SECONDS = env_int("BENCH_SECONDS", 4)
FLOOR_SECONDS = env_int("BENCH_FLOOR_SECONDS", 2)
CONNECTIONS = env_int("BENCH_CONNECTIONS", 16)
SLOW_MS = env_int("BENCH_SLOW_MS", 250)
TIMEOUT = env_int("BENCH_TIMEOUT", 60)
PORT = env_int("BENCH_PORT", 8765)
WORKERS = env_int("BENCH_WORKERS", 2)
OUTBOX_WORKER = env_int("BENCH_OUTBOX_WORKER", 1)
LABEL = os.environ.get("BENCH_LABEL", "")
HALF_RATE = env_int("BENCH_HALF_RATE", 1)
DOC_SECTION = os.environ.get("BENCH_DOC_SECTION", "latest")
ONLY = [p for p in os.environ.get("BENCH_PAGES", "").split(",") if p]
# One database per dataset size, so that switching sizes never regenerates: carestory_bench holds
# the national figure (1,000,000 stories), carestory_bench_<N> any other size.
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/carestory_bench" + (
    "" if STORIES == NATIONAL else f"_{STORIES}"
)
DATABASE_URL = os.environ.get("DATABASE_URL") or DEFAULT_DB
BASE = f"http://127.0.0.1:{PORT}"
HOST = f"127.0.0.1:{PORT}"
POST_DOMAIN = "bench-post.carestory.invalid"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- Setting up ----------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is missing: install it with `sudo apt-get install wrk`")
    log("installing wrk (Debian package)")
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, timeout=600)
    found = shutil.which("wrk")
    if not found:
        subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, timeout=600)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("could not install wrk")
    return found


def ensure_database() -> None:
    import psycopg

    url = urllib.parse.urlparse(DATABASE_URL)
    if not url.scheme.startswith("postgres"):
        raise SystemExit("make bench measures PostgreSQL: DATABASE_URL must be postgres://...")
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            log(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def base_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DATABASE_URL": DATABASE_URL, "PYTHONUNBUFFERED": "1"})
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(extra)
    return env


def manage(*args: str, env: dict[str, str], timeout: int = 3600) -> str:
    result = subprocess.run(
        [PY, "manage.py", *args],
        cwd=ROOT,
        env=env,
        timeout=timeout,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"manage.py {' '.join(args)} failed")
    return result.stdout


def manage_live(*args: str, env: dict[str, str], timeout: int = 3600) -> None:
    """A manage.py command whose progress goes straight to the terminal."""
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, timeout=timeout, check=True)


PREPARE = r"""
import json, sys
import django
django.setup()
from carestory.synthetic.benchprep import prepare
print("PREPARED " + json.dumps(prepare(stories=int(sys.argv[1]), seed=int(sys.argv[2]))))
"""


def prepare_data(env: dict[str, str]) -> dict[str, Any]:
    """Migrate, import the tree if needed, generate or reuse the dataset; return the targets
    (sessions, ids, cursor) the pages need."""
    log("migrating")
    manage("migrate", "--no-input", env=env, timeout=1800)
    count = manage(
        "shell",
        "-c",
        "from carestory.services.models import Service; print(Service.objects.count())",
        env=env,
    )
    if int(count.strip().splitlines()[-1]) < 1000 and SHARED_DATA.is_dir():
        log(f"importing the service tree from {SHARED_DATA}")
        manage("import_ods", str(SHARED_DATA), env=env, timeout=1800)
    marker = manage(
        "shell",
        "-c",
        "import json; from carestory.synthetic.generate import synthetic_marker; "
        "print(json.dumps(synthetic_marker()))",
        env=env,
    )
    current = json.loads(marker.strip().splitlines()[-1])
    from_version = manage(
        "shell",
        "-c",
        "from carestory.synthetic.generate import GENERATOR_VERSION, ANCHOR; "
        "print(GENERATOR_VERSION, ANCHOR.date().isoformat())",
        env=env,
    ).split()
    wanted = {"stories": STORIES, "seed": SEED, "version": int(from_version[-2])}
    if current and all(current.get(k) == v for k, v in wanted.items()):
        log(f"reusing the synthetic dataset ({STORIES:,} stories, seed {SEED})")
        load_seconds = None
    else:
        log(f"generating {STORIES:,} stories (seed {SEED})")
        started = time.monotonic()
        manage_live(
            "generate_synthetic", "--stories", str(STORIES), "--seed", str(SEED), "--clear",
            env=env, timeout=7200,
        )  # fmt: skip
        load_seconds = round(time.monotonic() - started, 1)
    out = subprocess.run(
        [PY, "-c", PREPARE, str(STORIES), str(SEED)],
        cwd=ROOT,
        env=env | {"DJANGO_SETTINGS_MODULE": "carestory.settings"},
        timeout=600,
        capture_output=True,
        text=True,
        check=False,
    )
    line = next((x for x in out.stdout.splitlines() if x.startswith("PREPARED ")), None)
    if out.returncode != 0 or line is None:
        sys.stderr.write(out.stdout + out.stderr)
        raise SystemExit("preparing the bench targets failed")
    targets: dict[str, Any] = json.loads(line.removeprefix("PREPARED "))
    targets["load_seconds"] = load_seconds
    return targets


# --- The server ----------------------------------------------------------------------------


def server_env(secret: str) -> dict[str, str]:
    return base_env(
        CARESTORY_ENV="production",
        DJANGO_SETTINGS_MODULE="carestory.synthetic.bench_settings",
        SECRET_KEY=secret,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SITE_URL=f"https://{HOST}",
        CSRF_TRUSTED_ORIGINS=f"https://{HOST}",
        TRUSTED_PROXY_COUNT="1",
        LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        DEBUG="false",
    )


def start_server(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    args = [GUNICORN, "carestory.wsgi"]
    if (ROOT / "carestory" / "lib" / "gunicorn_conf.py").exists():
        args += ["-c", "python:carestory.lib.gunicorn_conf"]
    args += [
        "--workers", str(WORKERS), "--worker-class", "sync",
        "--bind", HOST, "--timeout", str(TIMEOUT + 30), "--backlog", "256",
    ]  # fmt: skip
    errors = log_path.open("wb")
    # The access log goes to stdout: one line per request, thrown away.
    proc = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {log_path}")
        try:
            status, _, _ = fetch("/__bench__/floor", timeout=2)
            if status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.3)
    stop_server(proc)
    raise SystemExit(f"gunicorn did not answer within 60 s; see {log_path}")


def stop_server(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def worker_rss_mb(master: int) -> list[float]:
    """Resident memory of the gunicorn workers (children of the master), in MB."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid != master:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out.append(round(int(line.split()[1]) / 1024, 1))
        except (OSError, ValueError, IndexError):
            continue
    return sorted(out)


def process_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


# --- Requests ------------------------------------------------------------------------------


@dataclass
class Page:
    key: str
    label: str
    path: str
    cookie: str = ""
    method: str = "GET"
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def probe_body(self) -> str:
        return self.body


def common_headers(cookie: str = "") -> dict[str, str]:
    client = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{1 + secrets.randbelow(254)}"
    headers = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": client,
        "Host": HOST,
        "Accept-Encoding": "gzip",
    }
    if cookie:
        headers["Cookie"] = cookie
    return headers


def fetch(
    path: str,
    *,
    cookie: str = "",
    method: str = "GET",
    body: str = "",
    extra: dict[str, str] | None = None,
    timeout: float = TIMEOUT,
) -> tuple[int, dict[str, str], bytes]:
    headers = common_headers(cookie) | (extra or {})
    data = body.encode() if method == "POST" else None
    request = urllib.request.Request(BASE + path, data=data, headers=headers, method=method)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()


def csrf_for_post(story_service: str) -> tuple[str, str]:
    """(cookie, form token) from the story form, as a browser would get them."""
    status, headers, body = fetch(f"/tell-your-story/?service={story_service}")
    if status != 200:
        raise SystemExit(f"GET /tell-your-story/ answered {status}")
    cookies = [v for k, v in headers.items() if k.lower() == "set-cookie"]
    match = re.search(r"(__Host-csrftoken|csrftoken)=([^;]+)", " ".join(cookies))
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if not match or not token:
        raise SystemExit("no CSRF cookie or token on the story form")
    return f"{match.group(1)}={match.group(2)}", token.group(1).decode()


LUA_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50":%d,"p95":%d,"p99":%d,"max":%d,"mean":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    latency.mean))
end
"""

LUA_REQUEST = r"""
-- Every request from a different client address (10.x.y.z, through X-Forwarded-For, with
-- TRUSTED_PROXY_COUNT=1 as behind our proxy): the per-client rate limits see a crowd, as in
-- production, not one very busy client.
local counter = 0
local next_thread = 0
setup = function(thread)
  next_thread = next_thread + 1
  thread:set("thread_no", next_thread)
end
init = function(args)
  math.randomseed(SALT * 16 + (thread_no or 0))
end
request = function()
  counter = counter + 1
  wrk.headers["X-Forwarded-For"] = string.format("10.%d.%d.%d",
    math.random(0, 255), math.random(0, 255), math.random(1, 254))
  if BODY == nil then
    return wrk.format(nil, nil, nil, nil)
  end
  local key = string.format("%08x-%04x-4000-8000-%012x", SALT, thread_no or 0, counter)
  local email = string.format("p%d.%d.%d@POST_DOMAIN", SALT, thread_no or 0, counter)
  return wrk.format(nil, nil, nil, BODY .. "&idempotency_key=" .. key .. "&email=" .. email)
end
"""


OPEN_LOOP_MAX_RATE = 100.0  # requests a second this Python client can make on time here


def half_rate(
    wrk: str,
    page: Page,
    rps: float,
    unloaded_ms: float,
    seconds: int,
    salt: int,
    directory: Path,
) -> dict[str, Any]:
    """Latency at half the throughput just measured.

    Up to OPEN_LOOP_MAX_RATE, open loop (``open_loop``): the honest method. Faster than that
    the Python client itself falls behind, so wrk's 16 connections each wait a random time
    after each answer, chosen so that together they ask about rps/2 a second. That figure is
    an upper bound: a gunicorn sync worker that accepts a connection still in its wait sits
    idle until the request comes, which adds latency production (a buffering proxy) has not.
    """
    rate = rps / 2
    if rate <= OPEN_LOOP_MAX_RATE:
        return open_loop(page, rate, seconds) | {"method": "open loop"}
    delay = max(1, round(1000 * CONNECTIONS / rate - unloaded_ms))
    result = run_wrk(
        wrk,
        page,
        connections=CONNECTIONS,
        seconds=seconds,
        salt=salt + 1,
        directory=directory,
        delay_ms=delay,
    )
    return result | {"method": "wrk, random delays", "rate_asked": round(rate, 2)}


def open_loop(page: Page, rate: float, seconds: float) -> dict[str, Any]:
    """Requests at Poisson times at ``rate`` a second for ``seconds``, each on a new connection
    that sends its request at once, latency timed from the moment it was due (open loop).

    Not wrk with a delay: wrk connects, then waits out the delay on an open connection, and a
    gunicorn sync worker that accepted it sits waiting for the request meanwhile, which
    measures the bench, not the site (production has a buffering proxy in front)."""
    import asyncio
    import random

    rng = random.Random(secrets.randbelow(2**31))  # noqa: S311 (arrival times, not secrets)
    headers = common_headers(page.cookie) | page.headers | {"Connection": "close"}
    latencies: list[float] = []
    errors = 0

    def request_bytes() -> bytes:
        client = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        lines = [f"GET {page.path} HTTP/1.1"]
        lines += [f"{k}: {client if k == 'X-Forwarded-For' else v}" for k, v in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def one(due: float) -> None:
        nonlocal errors
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", PORT), TIMEOUT
            )
            writer.write(request_bytes())
            await writer.drain()
            head = await asyncio.wait_for(reader.readline(), TIMEOUT)
            await asyncio.wait_for(reader.read(), TIMEOUT)
            writer.close()
            ok = head.split(b" ")[1:2] in ([b"200"], [b"302"])
        except (OSError, TimeoutError, IndexError):
            ok = False
        if ok:
            latencies.append((time.perf_counter() - due) * 1000)
        else:
            errors += 1

    async def run() -> float:
        started = time.perf_counter()
        due = started
        tasks = []
        while due - started < seconds:
            due += rng.expovariate(rate)
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(one(due)))
        await asyncio.gather(*tasks)
        return time.perf_counter() - started

    elapsed = asyncio.run(run())
    latencies.sort()

    def pct(q: float) -> float | None:
        if not latencies:
            return None
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1)

    return {
        "rate_asked": round(rate, 2),
        "requests": len(latencies) + errors,
        "rps": round(len(latencies) / elapsed, 2) if elapsed else 0.0,
        "errors": errors,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1], 1) if latencies else None,
    }


def lua_script(page: Page, salt: int, directory: Path, delay_ms: int = 0) -> Path:
    script = LUA_REQUEST.replace("SALT", str(salt)).replace("POST_DOMAIN", POST_DOMAIN)
    if delay_ms > 0:
        # After each answer a connection waits a random time, exponentially distributed around
        # delay_ms, so the connections do not stay in step (see half_rate()).
        script += (
            "\ndelay = function() return math.floor(-math.log(1 - math.random()) * "
            f"{delay_ms}) end\n"
        )
    if page.method == "POST":
        body = json.dumps(page.body)  # a JSON string of ASCII is a Lua string literal
        script = f'BODY = {body}\nwrk.method = "POST"\n' + script
    path = directory / f"{page.key}.lua"
    path.write_text(script + LUA_DONE)
    return path


def run_wrk(
    wrk: str,
    page: Page,
    *,
    connections: int,
    seconds: int,
    salt: int,
    directory: Path,
    delay_ms: int = 0,
) -> dict[str, Any]:
    script = lua_script(page, salt, directory, delay_ms)
    args = [wrk, f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s"]
    args += ["--timeout", f"{TIMEOUT}s", "-s", str(script)]
    for name, value in (common_headers(page.cookie) | page.headers).items():
        if name == "X-Forwarded-For":
            continue  # set per request by the script
        args += ["-H", f"{name}: {value}"]
    args.append(BASE + page.path)
    try:
        out = subprocess.run(
            args, capture_output=True, text=True, timeout=seconds + TIMEOUT + 30, check=False
        ).stdout
    except subprocess.TimeoutExpired:
        return {"error": "wrk did not finish"}
    line = next((x for x in out.splitlines() if x.startswith("BENCHJSON ")), None)
    if line is None:
        return {"error": "no result from wrk", "output": out[-500:]}
    raw: dict[str, Any] = json.loads(line.removeprefix("BENCHJSON "))
    duration = raw["duration_us"] / 1e6 or seconds
    errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"] + raw["status"]
    ok = raw["requests"] - raw["status"]
    return {
        "connections": connections,
        "seconds": round(duration, 2),
        "requests": raw["requests"],
        "rps": round(ok / duration, 2),
        "errors": errors,
        "non_2xx_3xx": raw["status"],
        "timeouts": raw["timeout"],
        "p50_ms": round(raw["p50"] / 1000, 1),
        "p95_ms": round(raw["p95"] / 1000, 1),
        "p99_ms": round(raw["p99"] / 1000, 1),
        "max_ms": round(raw["max"] / 1000, 1),
    }


def probe(page: Page) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        status, headers, body = fetch(
            page.path,
            cookie=page.cookie,
            method=page.method,
            body=page.probe_body(),
            extra=page.headers,
        )
    except (TimeoutError, urllib.error.URLError) as exc:
        return {"timeout": True, "error": str(exc), "latency_ms": TIMEOUT * 1000}
    latency = (time.perf_counter() - started) * 1000
    return {
        "status": status,
        "latency_ms": round(latency, 1),
        "queries": int(headers.get("X-Bench-Queries", -1)),
        "sql_ms": float(headers.get("X-Bench-SQL-ms", -1)),
        "view_ms": float(headers.get("X-Bench-View-ms", -1)),
        "bytes": len(body),
        "page_cache": headers.get("X-Page-Cache", ""),
    }


def probe_uncached(page: Page) -> dict[str, Any]:
    """The page rendered, not served from the public page cache: a visitor with a message
    waiting (an unreadable ``messages`` cookie, which Django ignores) always misses it."""
    cookie = "; ".join(c for c in (page.cookie, "messages=bench") if c)
    return probe(replace(page, cookie=cookie))


@dataclass
class PostPage(Page):
    counter: int = 0
    salt: int = 0

    def probe_body(self) -> str:
        self.counter += 1
        key = f"{self.salt:08x}-ffff-4000-8000-{self.counter:012x}"
        return (
            f"{self.body}&idempotency_key={key}&email=probe{self.salt}.{self.counter}@{POST_DOMAIN}"
        )


def wait_idle(limit: float) -> float:
    """Wait until the floor answers within 200 ms again (queued requests drained)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        t0 = time.perf_counter()
        with contextlib.suppress(OSError):
            fetch("/__bench__/floor", timeout=max(1.0, limit))
        if time.perf_counter() - t0 < 0.2:
            break
    return round(time.monotonic() - started, 1)


def wait_outbox_drained(limit: float) -> float:
    """Wait (bounded) until the outbox worker has no job due: after the POST measurement it
    has the new stories' checks to run, and each check is a write that ends every cached
    public page, far more often than a real site's writes would."""
    import psycopg

    started = time.monotonic()
    with psycopg.connect(DATABASE_URL, autocommit=True, connect_timeout=5) as conn:
        while time.monotonic() - started < limit:
            row = conn.execute(
                "SELECT count(*) FROM outbox_outboxmessage WHERE status IN ('pending', 'sending')"
                " AND next_attempt_at <= now()"
            ).fetchone()
            if not row or not row[0]:
                break
            time.sleep(1)
    return round(time.monotonic() - started, 1)


# --- Measuring -----------------------------------------------------------------------------


def pages_for(targets: dict[str, Any]) -> list[Page]:
    staff = f"__Host-sessionid={targets['staff_session']}"
    moderator = f"__Host-sessionid={targets['moderator_session']}"
    big, gp = targets["big_service"], targets["gp_service"]
    pages = [
        Page("home", "`/` (home)", "/"),
        Page("story_list", "`/stories/`", "/stories/"),
        Page("feed", "`/stories/feed.atom`", "/stories/feed.atom"),
        Page("api_list", "`/api/v1/stories`", "/api/v1/stories"),
        Page("api_list_100", "`/api/v1/stories?limit=100`", "/api/v1/stories?limit=100"),
        Page("api_story", "`/api/v1/stories/<id>`", f"/api/v1/stories/{targets['story']}"),
        Page("service_big", f"`/services/{big}/` (a big trust)", f"/services/{big}/"),
        Page(
            "service_big_deep",
            f"`/services/{big}/?after=…` (page {targets['deep_page']:,})",
            f"/services/{big}/?after={targets['deep_cursor']}",
        ),
        Page("staff", "`/staff/` (signed in, South Tees responder)", "/staff/", cookie=staff),
        Page(
            "staff_filtered",
            "`/staff/?min_criticality=2&answered=no&read=no&sort=critical` (workspace filters)",
            "/staff/?min_criticality=2&answered=no&read=no&sort=critical",
            cookie=staff,
        ),
        Page("statistics", "`/statistics/moderation/`", "/statistics/moderation/"),
        Page(
            "moderation_queue",
            f"`/moderation/` ({targets['queue']:,} in the queue)",
            "/moderation/",
            cookie=moderator,
        ),
        Page(
            "moderation_story",
            "`/moderation/stories/<id>/` (workbench)",
            f"/moderation/stories/{targets['queue_story']}/",
            cookie=moderator,
        ),
        Page("service_gp", f"`/services/{gp}/` (a GP practice)", f"/services/{gp}/"),
        Page("story", "`/stories/<id>/`", f"/stories/{targets['story']}/"),
        Page("search_name", "`/services/?q=sheffield`", "/services/?q=sheffield"),
        Page("search_postcode", "`/services/?q=TS18 1HU`", "/services/?q=TS18+1HU"),
        Page("suggest", "`/services/suggest?q=shef`", "/services/suggest?q=shef"),
    ]
    return pages


def post_page(targets: dict[str, Any], salt: int) -> PostPage:
    cookie, token = csrf_for_post(targets["post_service"])
    fields = {
        "csrfmiddlewaretoken": token,
        "service": targets["post_service"],
        "title": "Kind and quick care",
        "body": "I came in late at night with chest pain. The nurse explained everything and "
        "the doctor listened to me. The tests were done within the hour. " * 3,
        "author_role": "patient",
        "screen_name": "Bench patient",
        "consent": "on",
        "good": str(targets["good_tag"]),
        "feelings": str(targets["feeling_tag"]),
    }
    return PostPage(
        key="tell_post",
        label="`POST /tell-your-story/` (a new story)",
        path="/tell-your-story/",
        cookie=cookie,
        method="POST",
        body=urllib.parse.urlencode(fields),
        headers={
            "Origin": f"https://{HOST}",
            "Referer": f"https://{HOST}/tell-your-story/",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        salt=salt,
    )


def measure(wrk: str, pages: list[Page], master: int) -> dict[str, Any]:
    rounds: list[dict[str, Any]] = []
    rss_seen: list[float] = []
    with tempfile.TemporaryDirectory(prefix="carestory-bench-") as tmp:
        directory = Path(tmp)
        log("warming up")
        for page in pages:
            result = probe(page)
            log(f"  {page.key}: {result.get('status', 'timeout')} in {result['latency_ms']:.0f} ms")
            wait_idle(TIMEOUT)
        for r in range(ROUNDS):
            log(f"round {r + 1} of {ROUNDS}")
            this: dict[str, Any] = {"floor": [], "pages": {}}
            for page in pages:
                salt = secrets.randbelow(2**31)
                floor = run_wrk(
                    wrk,
                    Page("floor", "floor", "/__bench__/floor"),
                    connections=CONNECTIONS,
                    seconds=FLOOR_SECONDS,
                    salt=salt,
                    directory=directory,
                )
                this["floor"].append(floor)
                first = probe(page)
                if first.get("timeout"):
                    result = {"probe": first, "timeout": True}
                    drained = wait_idle(TIMEOUT * 2)
                else:
                    slow = first["latency_ms"] > SLOW_MS
                    connections = min(WORKERS, CONNECTIONS) if slow else CONNECTIONS
                    seconds = (
                        min(30, max(SECONDS, int(3 * first["latency_ms"] / 1000) + 1))
                        if slow
                        else SECONDS
                    )
                    load = run_wrk(
                        wrk,
                        page,
                        connections=connections,
                        seconds=seconds,
                        salt=salt,
                        directory=directory,
                    )
                    drained = wait_idle(min(TIMEOUT * 2, 5 + 4 * first["latency_ms"] / 1000))
                    result = {"probe": first, "load": load, "slow_mode": slow}
                    if load.get("requests", 0) == 0:
                        result["timeout"] = True  # nothing answered within BENCH_TIMEOUT
                    elif HALF_RATE and not slow and page.method == "GET" and load.get("rps"):
                        result["half_rate"] = half_rate(
                            wrk, page, load["rps"], first["latency_ms"], seconds, salt, directory
                        )
                        wait_idle(5)
                if page.method == "GET":
                    result["uncached"] = probe_uncached(page)
                else:
                    result["outbox_drain_s"] = wait_outbox_drained(120)
                result["drain_s"] = drained
                this["pages"][page.key] = result
                load = result.get("load", {})
                log(
                    f"  {page.key:<18} floor {floor.get('rps', 0):8.0f}/s   page "
                    f"{load.get('rps', 0):8.1f}/s  p50 {load.get('p50_ms', 0):8.1f} ms  "
                    f"q {first.get('queries', '-')}  sql {first.get('sql_ms', '-')} ms"
                    + ("  TIMEOUT" if result.get("timeout") else "")
                )
            rss = worker_rss_mb(master)
            rss_seen += rss
            this["worker_rss_mb"] = rss
            rounds.append(this)
    return {"rounds": rounds, "worker_rss_mb_max": max(rss_seen, default=None)}


def med(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 2) if values else None


def summarise(pages: list[Page], measured: dict[str, Any]) -> list[dict[str, Any]]:
    rounds = measured["rounds"]
    floor_rps = [f.get("rps", 0) for r in rounds for f in r["floor"] if "rps" in f]
    floor = med(floor_rps) or 0.0
    rows = [
        {
            "key": "floor",
            "label": "floor: a bare Django view, same stack",
            "rps": floor,
            "p50_ms": med([f.get("p50_ms") for r in rounds for f in r["floor"]]),
            "p95_ms": med([f.get("p95_ms") for r in rounds for f in r["floor"]]),
            "p99_ms": med([f.get("p99_ms") for r in rounds for f in r["floor"]]),
            "errors": sum(f.get("errors", 0) for r in rounds for f in r["floor"]),
            "ratio": 1.0,
            "queries": 0,
            "sql_ms": 0.0,
            "status": [200],
            "timeouts": 0,
            "connections": CONNECTIONS,
        }
    ]
    for page in pages:
        results = [r["pages"][page.key] for r in rounds if page.key in r["pages"]]
        loads = [x["load"] for x in results if "load" in x and "rps" in x["load"]]
        probes = [x["probe"] for x in results]
        uncached = [x["uncached"] for x in results if "uncached" in x]
        halves = [x["half_rate"] for x in results if x.get("half_rate", {}).get("requests")]
        timeouts = sum(1 for x in results if x.get("timeout"))
        rps = med([x["rps"] for x in loads]) if loads else 0.0
        rows.append(
            {
                "key": page.key,
                "label": page.label,
                "rps": rps,
                "p50_ms": med([x["p50_ms"] for x in loads if x["requests"]]),
                "p95_ms": med([x["p95_ms"] for x in loads if x["requests"]]),
                "p99_ms": med([x["p99_ms"] for x in loads if x["requests"]]),
                "errors": sum(x.get("errors", 0) for x in loads),
                "ratio": round((rps or 0) / floor, 4) if floor else None,
                "queries": med([p.get("queries") for p in probes if "queries" in p]),
                "sql_ms": med([p.get("sql_ms") for p in probes if "sql_ms" in p]),
                "page_cache": sorted({p.get("page_cache") or "-" for p in probes}),
                "half_rps": med([x["rps"] for x in halves]),
                "half_p95_ms": med([x["p95_ms"] for x in halves]),
                "half_p99_ms": med([x["p99_ms"] for x in halves]),
                "uncached_queries": med([p.get("queries") for p in uncached if "queries" in p]),
                "uncached_sql_ms": med([p.get("sql_ms") for p in uncached if "sql_ms" in p]),
                "uncached_view_ms": med([p.get("view_ms") for p in uncached if "view_ms" in p]),
                "probe_ms": med([p.get("latency_ms") for p in probes]),
                "status": sorted({p["status"] for p in probes if "status" in p}),
                "timeouts": timeouts,
                "connections": max((x["connections"] for x in loads), default=None),
            }
        )
    return rows


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return str(value)


def half(row: dict[str, Any]) -> str:
    if row.get("half_p99_ms") is None:
        return "—"
    return f"{fmt(row.get('half_p95_ms'))}, {fmt(row['half_p99_ms'])}"


def rendered(row: dict[str, Any]) -> str:
    if row.get("uncached_queries") is None:
        return "—"
    return (
        f"{fmt(row['uncached_queries'], 0)}, {fmt(row['uncached_sql_ms'])}, "
        f"{fmt(row['uncached_view_ms'])}"
    )


def markdown(result: dict[str, Any]) -> str:
    meta = result["meta"]
    lines = [
        f"{meta['stories']:,} published stories (seed {meta['seed']}), {meta['rounds']} rounds, "
        f"{meta['date']}, commit `{meta['commit']}`, PostgreSQL {meta['postgres']}, gunicorn "
        f"{meta['workers']} sync workers, wrk {meta['connections']} connections (2 for pages "
        f"slower than {SLOW_MS} ms). Worker memory (largest RSS): "
        f"{fmt(result['worker_rss_mb_max'])} MB; outbox worker after the run: "
        f"{fmt(result.get('outbox_worker_rss_mb'))} MB. Raw figures: `{meta['results_file']}`.",
        "",
        "| page | req/s | p50 ms | p95 ms | p99 ms | ratio to floor | at ½ rate: p95, p99 ms | "
        "page cache | queries | SQL ms | rendered: queries, SQL ms, view ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | :---: | ---: | ---: | ---: | ---: |",
    ]
    for row in result["pages"]:
        rps = "timeout" if row["timeouts"] and not row["rps"] else fmt(row["rps"])
        if row["timeouts"] and row["rps"]:
            rps += f" ({row['timeouts']} timeouts)"
        status = row.get("status") or []
        note = "" if not status or status == [200] or status == [302] else f" (HTTP {status})"
        lines.append(
            f"| {row['label']}{note} | {rps} | {fmt(row['p50_ms'])} | {fmt(row['p95_ms'])} | "
            f"{fmt(row['p99_ms'])} | {fmt(row['ratio'], 3) if row['ratio'] is not None else '—'} "
            f"| {half(row)} | {'/'.join(row.get('page_cache') or []) or '—'} "
            f"| {fmt(row['queries'], 0)} | {fmt(row['sql_ms'])} | {rendered(row)} "
            f"| {row['errors']} |"
        )
    return "\n".join(lines)


def write_doc(section: str, table: str) -> None:
    start, end = f"<!-- bench:{section}:start -->", f"<!-- bench:{section}:end -->"
    text = DOC.read_text() if DOC.exists() else ""
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{start}\n{table}\n{end}{tail}"
    else:
        text += f"\n{start}\n{table}\n{end}\n"
    DOC.write_text(text)


def cleanup_posts(env: dict[str, str]) -> None:
    manage(
        "shell",
        "-c",
        "from carestory.synthetic.benchprep import posts_delete; print(posts_delete())",
        env=env,
    )


def git_commit() -> str:
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return out.stdout.strip() + ("+changes" if dirty else "")


def main() -> None:
    started = time.monotonic()
    wrk = ensure_wrk()
    ensure_database()
    secret = secrets.token_urlsafe(48)
    prep_env = base_env(CARESTORY_ENV="development", SECRET_KEY=secret, DEBUG="false")
    targets = prepare_data(prep_env)
    env = server_env(secret)
    log("collectstatic")
    manage("collectstatic", "--no-input", env=env, timeout=600)
    var = ROOT / "var"
    var.mkdir(exist_ok=True)
    server_log = var / "bench-gunicorn.log"
    log(f"starting gunicorn on {HOST} ({WORKERS} workers), errors to {server_log}")
    proc = start_server(env, server_log)
    # The outbox worker runs beside the web server, as in production (jobs such as the
    # automated checks of the POSTed stories, recounts); email goes nowhere.
    outbox = (
        subprocess.Popen(
            [PY, "manage.py", "run_worker"],
            cwd=ROOT,
            env=env | {"EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"},
            stdout=subprocess.DEVNULL,
            stderr=(var / "bench-worker.log").open("wb"),
            start_new_session=True,
        )
        if OUTBOX_WORKER
        else None
    )
    try:
        pages = pages_for(targets)
        pages.append(post_page(targets, secrets.randbelow(2**31)))
        if ONLY:
            pages = [p for p in pages if p.key in ONLY]
        measured = measure(wrk, pages, proc.pid)
        measured["outbox_worker_rss_mb"] = process_rss_mb(outbox.pid) if outbox else None
    finally:
        stop_server(proc)
        if outbox is not None:
            stop_server(outbox)
        cleanup_posts(prep_env)
    rows = summarise(pages, measured)
    today = dt.date.today().isoformat()
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"{today}-{LABEL}.json" if LABEL else f"{today}.json"
    version = subprocess.run(
        ["psql", DATABASE_URL, "-Atc", "show server_version"], capture_output=True, text=True
    ).stdout.strip()
    result = {
        "meta": {
            "date": today,
            "commit": git_commit(),
            "stories": STORIES,
            "seed": SEED,
            "rounds": ROUNDS,
            "seconds": SECONDS,
            "floor_seconds": FLOOR_SECONDS,
            "connections": CONNECTIONS,
            "slow_ms": SLOW_MS,
            "workers": WORKERS,
            "outbox_worker": bool(OUTBOX_WORKER),
            "postgres": version or "?",
            "database": urllib.parse.urlparse(DATABASE_URL).path.lstrip("/"),
            "load_seconds": targets.get("load_seconds"),
            "wall_seconds": round(time.monotonic() - started),
            "results_file": f"bench/results/{name}",
            "cpus": os.cpu_count(),
        },
        "targets": {k: v for k, v in targets.items() if not k.endswith("_session")},
        "pages": rows,
        "worker_rss_mb_max": measured["worker_rss_mb_max"],
        "outbox_worker_rss_mb": measured.get("outbox_worker_rss_mb"),
        "rounds": measured["rounds"],
    }
    (RESULTS / name).write_text(json.dumps(result, indent=1) + "\n")
    table = markdown(result)
    if DOC_SECTION != "none":  # BENCH_DOC_SECTION=none: the JSON only
        write_doc(DOC_SECTION, table)
    print()
    print(table)
    log(f"done in {time.monotonic() - started:.0f} s: {RESULTS / name}, {DOC}")


if __name__ == "__main__":
    main()
