"""manage.py automod_check and automod_eval, on a small file written for these tests."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

SAMPLE = Path(__file__).parent / "data" / "automod_sample.jsonl"


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_automod_check_writes_one_line_per_record_without_the_text() -> None:
    lines = [json.loads(line) for line in run("automod_check", str(SAMPLE)).splitlines()]
    assert [line["id"] for line in lines] == ["s-1", "s-2", "s-3"]
    for line in lines:
        assert set(line) == {"id", "spans", "flags", "criticality"}
        assert all(set(span) == {"field", "start", "end", "label"} for span in line["spans"])
    first = lines[0]
    assert {"label": "EMAIL", "field": "body", "start": 46, "end": 65} in first["spans"]
    assert "robin" not in json.dumps(lines)
    assert "SAFEGUARDING" in lines[1]["flags"]
    assert lines[1]["criticality"] == "severely critical"
    assert lines[2]["flags"] == ["COMPLAINT"]
    assert lines[2]["criticality"] == "strongly critical"


def test_automod_check_ignores_labels(tmp_path: Path) -> None:
    path = tmp_path / "unlabelled.jsonl"
    path.write_text(
        json.dumps({"id": "u-1", "title": "Hi", "body": "Call 07700 900 999."}) + "\n\n"
    )
    lines = run("automod_check", str(path)).splitlines()
    assert json.loads(lines[0])["spans"] == [
        {"field": "body", "start": 5, "end": 18, "label": "PHONE"}
    ]


def test_automod_eval_reports_precision_and_recall() -> None:
    result = json.loads(run("automod_eval", str(SAMPLE)))
    assert result["records"] == 3
    assert result["spans"]["EMAIL"] == {"gold": 1, "predicted": 1, "precision": 1.0, "recall": 1.0}
    assert result["flags"]["SAFEGUARDING"]["recall"] == 1.0
    assert result["identifying"]["recall"] == 1.0
    assert set(result["criticality"]) == {"n", "exact", "within_one"}
    assert "errors" not in result


def test_automod_eval_errors_option_lists_misses(tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    gold = {"field": "body", "start": 0, "end": 7, "label": "PERSON_NAME", "text": "Nothing"}
    record = {
        "id": "m-1",
        "title": "x",
        "body": "Nothing to see.",
        "flags": ["COMPLAINT"],
        "spans": [gold],
        "criticality": "not critical",
    }
    path.write_text(json.dumps(record) + "\n")
    result = json.loads(run("automod_eval", str(path), "--errors"))
    kinds = {(e["kind"], e["label"]) for e in result["errors"]}
    assert ("missed", "PERSON_NAME") in kinds and ("flag-missed", "COMPLAINT") in kinds
    assert result["spans"]["PERSON_NAME"]["recall"] == 0.0


def test_commands_refuse_missing_or_broken_files(tmp_path: Path) -> None:
    with pytest.raises(CommandError):
        run("automod_check", str(tmp_path / "missing.jsonl"))
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n")
    with pytest.raises(CommandError, match="not JSON"):
        run("automod_eval", str(broken))
