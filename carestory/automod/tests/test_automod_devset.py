"""The engine against labelled stories: the shared development set when it is present, and
Carestory's own held-out stories (tests/data/automod_holdout.jsonl) always."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from carestory.automod.evaluation import evaluate, parse_source, read_records
from tests.shared import needs_shared, shared_path

DEV_SET = shared_path("automod", "dev-set.jsonl")
DATA = Path(__file__).parent / "data"


def assert_targets(result: dict[str, Any], *, identifying_recall: float) -> None:
    """Every safeguarding story flagged; identifying details found (at least this share of
    them), 85% or more of what is marked really identifying."""
    assert result["flags"]["SAFEGUARDING"]["recall"] == 1.0
    assert result["identifying"]["recall"] >= identifying_recall
    assert result["identifying"]["precision"] >= 0.85


@needs_shared("automod", "dev-set.jsonl")
def test_dev_set_targets() -> None:
    result = evaluate(read_records(DEV_SET))
    assert result["records"] == 150
    assert_targets(result, identifying_recall=0.95)


def test_holdout_set_targets() -> None:
    result = evaluate(read_records(DATA / "automod_holdout.jsonl"))
    assert_targets(result, identifying_recall=0.9)
    assert result["criticality"]["within_one"] >= 0.8


def test_second_holdout_set_targets() -> None:
    result = evaluate(read_records(DATA / "automod_holdout2.jsonl"))
    assert_targets(result, identifying_recall=0.9)


@pytest.mark.parametrize("name", ["automod_holdout", "automod_holdout2"])
def test_holdout_jsonl_matches_its_source(name: str) -> None:
    """The .jsonl is generated from the .src.txt with parse_source: keep them in step."""
    source = parse_source((DATA / f"{name}.src.txt").read_text(encoding="utf-8"))
    assert source == list(read_records(DATA / f"{name}.jsonl"))
    for record in source:
        for span in record["spans"]:
            assert record[span["field"]][span["start"] : span["end"]] == span["text"]
