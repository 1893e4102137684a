"""The engine against labelled stories: the shared development set when it is present, and
Carestory's own held-out stories (tests/data/automod_holdout.jsonl) always."""

from __future__ import annotations

from pathlib import Path

import pytest

from carestory.automod.evaluation import evaluate, parse_source, read_records
from tests.shared import needs_shared, shared_path

DEV_SET = shared_path("automod", "dev-set.jsonl")
DATA = Path(__file__).parent / "data"


@needs_shared("automod", "dev-set.jsonl")
def test_dev_set_targets() -> None:
    result = evaluate(read_records(DEV_SET))
    assert result["records"] == 150
    assert result["flags"]["SAFEGUARDING"]["recall"] == 1.0
    assert result["identifying"]["recall"] >= 0.95
    assert result["identifying"]["precision"] >= 0.85


def test_holdout_set_targets() -> None:
    result = evaluate(read_records(DATA / "automod_holdout.jsonl"))
    assert result["flags"]["SAFEGUARDING"]["recall"] == 1.0
    assert result["identifying"]["recall"] >= 0.9
    assert result["identifying"]["precision"] >= 0.85
    assert result["criticality"]["within_one"] >= 0.8


def test_second_holdout_set_targets() -> None:
    result = evaluate(read_records(DATA / "automod_holdout2.jsonl"))
    assert result["flags"]["SAFEGUARDING"]["recall"] == 1.0
    assert result["identifying"]["recall"] >= 0.9
    assert result["identifying"]["precision"] >= 0.85


@pytest.mark.parametrize("name", ["automod_holdout", "automod_holdout2"])
def test_holdout_jsonl_matches_its_source(name: str) -> None:
    """The .jsonl is generated from the .src.txt with parse_source: keep them in step."""
    source = parse_source((DATA / f"{name}.src.txt").read_text(encoding="utf-8"))
    assert source == list(read_records(DATA / f"{name}.jsonl"))
    for record in source:
        for span in record["spans"]:
            assert record[span["field"]][span["start"] : span["end"]] == span["text"]
