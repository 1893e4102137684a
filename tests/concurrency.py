"""Run a use case from several threads at once, for tests of races (they need
``pytest.mark.django_db(transaction=True)``: each thread has its own database connection)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.db import connection

A = TypeVar("A")
R = TypeVar("R")


def at_once(work: Callable[[A], R], args: Sequence[A], timeout: float = 60) -> list[R | Exception]:
    """``work(arg)`` for each of ``args``, each in its own thread, all released together by a
    barrier. Returns what each returned or raised, in the order of ``args``; each thread
    closes its connection. Read what a thread needs before calling (``args``), so every
    thread starts from the same rows."""
    barrier = threading.Barrier(len(args))
    outcomes: dict[int, R | Exception] = {}

    def run(index: int, arg: A) -> None:
        try:
            barrier.wait(timeout=timeout)
            outcomes[index] = work(arg)
        except Exception as exc:  # reported to the test, not lost in the thread
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(args)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return [outcomes[index] for index in range(len(args))]
