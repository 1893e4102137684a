"""`make run PORT=9000`: the links in emails point at port 9000 (scripts/run.sh)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

# Stands in for .venv/bin/python: records what it was asked to run and the SITE_URL that
# Django's settings then hold in that process (the worker renders the emails, runserver serves).
FAKE_PYTHON = """#!/bin/sh
site_url=$("{python}" -c "from django.conf import settings; print(settings.SITE_URL)")
echo "$2${{3:+ $3}} $site_url" >> "{log}"
if [ "$2" = runserver ]; then  # the script stops the worker when runserver ends: let it write
  for _ in $(seq 1 300); do grep -q run_worker "{log}" && break; sleep 0.1; done
fi
"""


def _run(tmp_path: Path, *args: str, site_url: str | None = None) -> list[str]:
    log = tmp_path / "calls.log"
    fake = tmp_path / "python"
    fake.write_text(FAKE_PYTHON.format(python=sys.executable, log=log))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    env = {k: v for k, v in os.environ.items() if k != "SITE_URL"}
    env.update(
        PY=str(fake),
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="carestory.settings",
        CARESTORY_ENV="development",
    )
    if site_url is not None:
        env["SITE_URL"] = site_url
    subprocess.run(  # noqa: S603 (our own script and fixed arguments)
        ["bash", str(ROOT / "scripts" / "run.sh"), *args],  # noqa: S607 (bash from PATH)
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return sorted(log.read_text().splitlines())


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("127.0.0.1", "9000"), "http://127.0.0.1:9000"),
        (("localhost", "8123"), "http://localhost:8123"),
        (("0.0.0.0", "9000"), "http://127.0.0.1:9000"),  # noqa: S104 (an argument, not a bind)
        ((), "http://127.0.0.1:8000"),
    ],
)
def test_links_follow_the_host_and_port(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    host_port = ":".join(args) if args else "127.0.0.1:8000"
    assert _run(tmp_path, *args) == [f"run_worker {expected}", f"runserver {host_port} {expected}"]


def test_an_explicit_site_url_wins(tmp_path: Path) -> None:
    calls = _run(tmp_path, "127.0.0.1", "9000", site_url="https://carestory.example.org")
    assert calls == [
        "run_worker https://carestory.example.org",
        "runserver 127.0.0.1:9000 https://carestory.example.org",
    ]
