"""Suggested criticality (0..5, as ``stories.models.Criticality``).

Moderators rate the *most negative statement* in a story. Two parts make the suggestion:

* a ladder of cues in ``rules/criticality.json`` for how serious the worst thing described
  is: death or lasting harm, alleged abuse (5); medication errors, missed diagnoses, neglect,
  unsafe discharge (4); distress, pain, long waits (3); inconvenience and admin failures (2);
  a passing niggle in a positive story (1). Some SAFEGUARDING cues count too;
* a multinomial naive Bayes model, trained by ``build_models.py`` on ~10,000 short NHS
  feedback comments (pxtextmining, MIT licence) whose own -5..+5 criticality maps onto our
  scale, for stories with no cue: it says whether, and how much, the story criticises care.
  Its suggestion is capped (``model_cap``), and a story whose tone is positive stays at 0.

The model sits behind the small ``CriticalityModel`` protocol so another backend can replace
it; the product works without the model file too (cues only).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Protocol

from carestory.automod.lexicon import MODELS_DIR, compiled, json_rules
from carestory.automod.tags import tone

LEVELS = (
    "not critical",
    "minimally critical",
    "mildly critical",
    "moderately critical",
    "strongly critical",
    "severely critical",
)
MODEL_FILE = MODELS_DIR / "criticality.json"

_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|[!?]")
_NEGATORS = {"not", "no", "never", "nothing", "without", "nobody", "none", "cannot", "cant"}
_CLAUSE_END = {"but", "however", "although", "though", "!", "?"}


def tokens(text: str) -> list[str]:
    """Lower-cased words with negation marking: up to three words after 'not', 'no',
    'never' or a "n't" carry a ``not_`` prefix ("not_helpful")."""
    result: list[str] = []
    negate = 0
    for raw in _TOKEN.findall(text.lower().replace("\u2019", "'")):
        word = raw
        if word in _CLAUSE_END:
            negate = 0
            result.append(word)
            continue
        if word in _NEGATORS or word.endswith("n't"):
            negate = 3
            result.append(word)
            continue
        if negate:
            word = "not_" + word
            negate -= 1
        result.append(word)
    return result


def features(text: str) -> list[str]:
    """Unigrams and bigrams."""
    toks = tokens(text)
    return toks + [f"{a} {b}" for a, b in pairwise(toks)]


class CriticalityModel(Protocol):
    def probabilities(self, text: str) -> list[float]: ...


@dataclass
class NaiveBayes:
    """Multinomial naive Bayes over unigrams and bigrams, with add-alpha smoothing."""

    classes: list[int]
    log_prior: list[float]
    log_likelihood: dict[str, list[float]]
    log_unknown: list[float]
    meta: dict[str, object] = field(default_factory=dict)

    def probabilities(self, text: str) -> list[float]:
        scores = list(self.log_prior)
        for feat in features(text):
            row = self.log_likelihood.get(feat)
            if row is None:
                continue
            for i, value in enumerate(row):
                scores[i] += value
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        probs = [0.0] * len(LEVELS)
        for cls, e in zip(self.classes, exps, strict=True):
            probs[cls] = e / total
        return probs

    def predict_text(self, text: str) -> int:
        probs = self.probabilities(text)
        return max(range(len(probs)), key=probs.__getitem__)

    def save(self, path: Path) -> None:
        data = {
            "kind": "multinomial-naive-bayes",
            "classes": self.classes,
            "log_prior": [round(v, 4) for v in self.log_prior],
            "log_unknown": [round(v, 3) for v in self.log_unknown],
            "features": {
                k: [round(v, 3) for v in row] for k, row in sorted(self.log_likelihood.items())
            },
            "meta": self.meta,
        }
        path.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> NaiveBayes:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            classes=data["classes"],
            log_prior=data["log_prior"],
            log_likelihood=data["features"],
            log_unknown=data["log_unknown"],
            meta=data.get("meta", {}),
        )


def train(rows: Sequence[tuple[str, int]], *, alpha: float = 0.5, min_count: int = 3) -> NaiveBayes:
    """Fit on (text, level) rows. Features seen fewer than ``min_count`` times are dropped,
    which keeps the shipped file small."""
    classes = sorted({level for _, level in rows})
    index = {c: i for i, c in enumerate(classes)}
    class_counts = Counter(level for _, level in rows)
    feature_counts: list[Counter[str]] = [Counter() for _ in classes]
    totals: Counter[str] = Counter()
    for text, level in rows:
        feats = set(features(text))  # binarised: presence, not frequency
        feature_counts[index[level]].update(feats)
        totals.update(feats)
    vocab = [f for f, c in totals.items() if c >= min_count]
    log_prior = [math.log(class_counts[c] / len(rows)) for c in classes]
    log_likelihood: dict[str, list[float]] = {}
    denominators = [
        sum(feature_counts[i][f] for f in vocab) + alpha * len(vocab) for i in range(len(classes))
    ]
    for f in vocab:
        log_likelihood[f] = [
            math.log((feature_counts[i][f] + alpha) / denominators[i]) for i in range(len(classes))
        ]
    log_unknown = [math.log(alpha / d) for d in denominators]
    return NaiveBayes(classes, log_prior, log_likelihood, log_unknown)


def agreement(pairs: Iterable[tuple[int, int]]) -> dict[str, float | int]:
    """Exact and within-one agreement between (predicted, expected) levels."""
    pairs = list(pairs)
    if not pairs:
        return {"n": 0, "exact": 0.0, "within_one": 0.0}
    exact = sum(1 for p, e in pairs if p == e)
    near = sum(1 for p, e in pairs if abs(p - e) <= 1)
    return {
        "n": len(pairs),
        "exact": round(exact / len(pairs), 3),
        "within_one": round(near / len(pairs), 3),
    }


@cache
def default_model() -> CriticalityModel | None:
    """The shipped model, or None when it has not been built (the rules still work)."""
    if not MODEL_FILE.exists():
        return None
    return NaiveBayes.load(MODEL_FILE)


def rule_level(text: str) -> tuple[int, list[str]]:
    """The highest level of the ladder cues found in the text, and their names."""
    level = 0
    names = []
    lowered = text.lower().replace("\u2019", "'")
    for cue in json_rules("criticality")["ladder"]:
        if compiled(cue["pattern"]).search(lowered):
            names.append(cue["name"])
            if cue["name"] != "niggle":
                level = max(level, int(cue["level"]))
    return level, names


def suggest(
    *,
    title: str,
    body: str,
    flags: Sequence[str],
    reasons: dict[str, list[str]],
    model: CriticalityModel | None = None,
) -> int:
    """The suggested level for a whole story: the ladder's level when a cue is found,
    otherwise 0 for a positive story and the model's (capped) level for a critical one.
    Adverts, campaigns, test posts and the like (NOT_AN_EXPERIENCE) are not critical."""
    rules = json_rules("criticality")
    model = model if model is not None else default_model()
    whole = f"{title}.\n{body}"
    cue_level, cue_names = rule_level(whole)
    safeguarding = set(reasons.get("SAFEGUARDING", []))
    failure = bool(compiled(rules["service_failure"]).search(whole))
    at_risk = bool(safeguarding & set(rules["risk_reasons"]))
    if safeguarding & set(rules["abuse_reasons"]) or (at_risk and failure):
        cue_level = max(cue_level, 5)
    elif safeguarding & set(rules["neglect_reasons"]):
        cue_level = max(cue_level, 4)
    elif safeguarding & set(rules["distress_reasons"]):
        cue_level = max(cue_level, 3)
    positive = tone(whole) > 0
    model_level = 0
    if model is not None:
        probs = model.probabilities(whole)
        model_level = min(max(range(len(probs)), key=probs.__getitem__), int(rules["model_cap"]))
    if cue_level:
        level = cue_level
    elif "niggle" in cue_names:
        level = int(rules["niggle_level"])
    else:
        level = 0 if positive else model_level
    if "NOT_AN_EXPERIENCE" in flags:
        nae = set(reasons.get("NOT_AN_EXPERIENCE", []))
        if nae and nae <= set(rules["not_critical_when_only"]):
            level = 0
    return level
