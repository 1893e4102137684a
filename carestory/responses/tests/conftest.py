"""Fixtures of the response tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import time_machine

from carestory.responses.tests.helpers import START


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """Time stands still at ``START`` until the test shifts it."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller
