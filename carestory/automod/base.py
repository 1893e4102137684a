"""What every rule module shares: the span a rule proposes and the context it reads."""

from __future__ import annotations

from dataclasses import dataclass

from carestory.automod import text as textlib


@dataclass(frozen=True)
class Span:
    """A candidate span in one field, before overlaps between rules are resolved."""

    start: int
    end: int
    label: str
    rule: str
    suggestion: str | None = None
    severity: str = "warning"


@dataclass(frozen=True)
class Context:
    """One field's text plus what is known about the whole story's writing style."""

    text: str
    shouting: bool = False  # mostly capitals: case says nothing about names
    lowercase: bool = False  # written without capitals: names may be lower case

    @classmethod
    def for_story(cls, text: str, *, title: str, body: str) -> Context:
        whole = f"{title}\n{body}"
        return cls(
            text=text,
            shouting=textlib.is_shouting(whole),
            lowercase=textlib.is_lowercase_style(whole),
        )
