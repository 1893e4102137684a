"""Scoring the engine against labelled stories in the dev-set format (one JSON object a line
with id, title, body, spans, flags and criticality). Used by ``manage.py automod_eval``,
``manage.py automod_check`` and the tests."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from carestory.automod.criticality import LEVELS, agreement
from carestory.automod.engine import analyse
from carestory.automod.results import FLAGS, IDENTIFYING_LABELS, SPAN_LABELS

Record = dict[str, Any]


def read_records(path: Path) -> Iterator[Record]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from exc


def check_record(record: Record) -> dict[str, Any]:
    """One output line of ``automod_check``: the labels found, never the text."""
    analysis = analyse(title=record.get("title", ""), body=record.get("body", ""))
    return {
        "id": record.get("id"),
        "spans": [
            {"field": f.field, "start": f.start, "end": f.end, "label": f.label}
            for f in analysis.findings
        ],
        "flags": analysis.flags,
        "criticality": LEVELS[analysis.criticality or 0],
    }


def _overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(
        a["field"] == b["field"]
        and a["label"] == b["label"]
        and a["start"] < b["end"]
        and b["start"] < a["end"]
    )


def _pr(tp_predicted: int, predicted: int, tp_gold: int, gold: int) -> dict[str, Any]:
    return {
        "gold": gold,
        "predicted": predicted,
        "precision": round(tp_predicted / predicted, 3) if predicted else None,
        "recall": round(tp_gold / gold, 3) if gold else None,
    }


def evaluate(records: Iterable[Record], *, with_errors: bool = False) -> dict[str, Any]:
    """Precision and recall per span label (a span matches when it overlaps a gold span of
    the same label and field) and per flag, identifying-span totals and criticality
    agreement."""
    span_counts = {label: [0, 0, 0, 0] for label in SPAN_LABELS}  # tp_pred, pred, tp_gold, gold
    flag_counts = {flag: [0, 0, 0] for flag in FLAGS}  # tp, predicted, gold
    levels: list[tuple[int, int]] = []
    errors: list[dict[str, Any]] = []
    n = 0
    for record in records:
        n += 1
        out = check_record(record)
        gold_spans = record.get("spans", [])
        for span in out["spans"]:
            counts = span_counts[span["label"]]
            counts[1] += 1
            if any(_overlaps(span, g) for g in gold_spans):
                counts[0] += 1
            elif with_errors:
                errors.append(
                    {
                        "id": record["id"],
                        "kind": "false-positive",
                        **span,
                        "text": record[span["field"]][span["start"] : span["end"]],
                    }
                )
        for span in gold_spans:
            counts = span_counts[span["label"]]
            counts[3] += 1
            if any(_overlaps(span, p) for p in out["spans"]):
                counts[2] += 1
            elif with_errors:
                errors.append(
                    {
                        "id": record["id"],
                        "kind": "missed",
                        "field": span["field"],
                        "label": span["label"],
                        "text": span.get("text"),
                    }
                )
        gold_flags = set(record.get("flags", []))
        for flag in FLAGS:
            predicted = flag in out["flags"]
            expected = flag in gold_flags
            flag_counts[flag][0] += predicted and expected
            flag_counts[flag][1] += predicted
            flag_counts[flag][2] += expected
            if with_errors and predicted != expected:
                errors.append(
                    {
                        "id": record["id"],
                        "kind": "flag-" + ("extra" if predicted else "missed"),
                        "label": flag,
                    }
                )
        if record.get("criticality") in LEVELS:
            expected_level = LEVELS.index(record["criticality"])
            predicted_level = LEVELS.index(out["criticality"])
            levels.append((predicted_level, expected_level))
            if with_errors and abs(predicted_level - expected_level) > 1:
                errors.append(
                    {
                        "id": record["id"],
                        "kind": "criticality",
                        "expected": record["criticality"],
                        "predicted": out["criticality"],
                    }
                )
    identifying = [sum(span_counts[label][i] for label in IDENTIFYING_LABELS) for i in range(4)]
    result: dict[str, Any] = {
        "records": n,
        "spans": {label: _pr(*counts) for label, counts in span_counts.items()},
        "identifying": _pr(*identifying),
        "all_spans": _pr(*[sum(c[i] for c in span_counts.values()) for i in range(4)]),
        "flags": {
            flag: {
                "gold": gold,
                "predicted": predicted,
                "precision": round(tp / predicted, 3) if predicted else None,
                "recall": round(tp / gold, 3) if gold else None,
            }
            for flag, (tp, predicted, gold) in flag_counts.items()
        },
        "criticality": agreement(levels),
    }
    if with_errors:
        result["errors"] = errors
    return result


_MARKUP = re.compile(r"\[\[([A-Z_]+)\|(.+?)\]\]")
_HEADER = re.compile(r"^=== (\S+) \| flags: ?([A-Z_, ]*) \| criticality: (.+)$")


def parse_markup(marked: str, *, field: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and spans from ``[[LABEL|text]]`` markup (the dev set's source format)."""
    plain: list[str] = []
    spans: list[dict[str, Any]] = []
    position = 0
    length = 0
    for match in _MARKUP.finditer(marked):
        before = marked[position : match.start()]
        plain.append(before)
        length += len(before)
        label, text = match.group(1), match.group(2)
        if label not in SPAN_LABELS:
            raise ValueError(f"Unknown label {label}")
        spans.append(
            {
                "start": length,
                "end": length + len(text),
                "field": field,
                "label": label,
                "text": text,
            }
        )
        plain.append(text)
        length += len(text)
        position = match.end()
    plain.append(marked[position:])
    return "".join(plain), spans


def parse_source(source: str) -> list[Record]:
    """Records from a source file: a header line per record, then ``title:`` and ``body:``
    (the body runs to the next header). Lines starting with ``#`` before the first header
    are comments."""
    records: list[Record] = []
    current: Record | None = None
    body_lines: list[str] = []

    def finish() -> None:
        if current is not None:
            body, body_spans = parse_markup("\n".join(body_lines).strip("\n"), field="body")
            current["body"] = body
            current["spans"] += body_spans
            records.append(current)

    for line in source.splitlines():
        header = _HEADER.match(line)
        if header:
            finish()
            flags = [f.strip() for f in header.group(2).split(",") if f.strip()]
            current = {
                "id": header.group(1),
                "title": "",
                "spans": [],
                "flags": flags,
                "criticality": header.group(3).strip(),
            }
            body_lines = []
        elif current is None:
            continue
        elif line.startswith("title: ") and not body_lines:
            title, title_spans = parse_markup(line[len("title: ") :], field="title")
            current["title"] = title
            current["spans"] += title_spans
        elif line.startswith("body: ") and not body_lines:
            body_lines.append(line[len("body: ") :])
        else:
            body_lines.append(line)
    finish()
    return records
