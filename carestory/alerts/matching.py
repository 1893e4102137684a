"""Whether an alert matches a story: the one home of that rule, for immediate alerts and digests.

Who is in scope is settled before this is asked (the candidates come from memberships whose
subscription covers the story); this checks the alert's own choices: the event, the services
(none: the whole scope), the criticality at or above, the tags (any of them) and the author's
role (any of them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from carestory.alerts.models import Alert
from carestory.stories.models import Story


@dataclass(frozen=True)
class StoryFacts:
    """What an alert's filters read about a story."""

    ancestor_ids: frozenset[int]  # the story's services and everything above them
    criticality: int | None
    tag_ids: frozenset[int]
    author_role: str


def story_facts(story: Story) -> StoryFacts:
    """Facts of one story (reads its services and tags: prefetch them for many)."""
    ancestors: set[int] = set()
    for service in story.services.all():
        ancestors.update(service.ancestor_ids())
    return StoryFacts(
        ancestor_ids=frozenset(ancestors),
        criticality=story.criticality,
        tag_ids=frozenset(t.tag_id for t in story.story_tags.all()),
        author_role=story.author_role,
    )


def alert_matches(alert: Alert, facts: StoryFacts, events: Iterable[str]) -> bool:
    """Whether ``alert`` wants to hear about one of ``events`` on the story of ``facts``.
    Reads ``alert.services`` and ``alert.tags`` (prefetch them for many)."""
    if not set(events) & set(alert.events):
        return False
    where = {s.pk for s in alert.services.all()}
    if where and not where & facts.ancestor_ids:
        return False
    if alert.min_criticality is not None and (
        facts.criticality is None or facts.criticality < alert.min_criticality
    ):
        return False
    tags = {t.pk for t in alert.tags.all()}
    if tags and not tags & facts.tag_ids:
        return False
    return not alert.author_roles or facts.author_role in alert.author_roles
