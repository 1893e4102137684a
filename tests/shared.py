"""The shared folder beside the repository (``../shared``): real data (the ODS, hospital and
postcode files, the automated checks' development set) that a few tests read when it is there.

The product, ``make run`` and the rest of the suite never need it. Resolve paths with
``shared_path`` (from the repository root, never an absolute path); a test that needs one says
so with ``needs_shared`` and is skipped, with the path, where the folder is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED = REPOSITORY.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, relative to the repository root, whether or not it exists."""
    return SHARED.joinpath(*parts)


def needs_shared(*parts: str) -> pytest.MarkDecorator:
    """Skip the test when ../shared/<parts> is not here."""
    path = shared_path(*parts)
    return pytest.mark.skipif(
        not path.exists(), reason=f"{path} is not here (the shared folder beside the repository)"
    )
