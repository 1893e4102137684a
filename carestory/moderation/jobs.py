"""Outbox guards for moderation emails: a queued email is dropped if its reason has gone."""

from __future__ import annotations

from typing import Any

from carestory.moderation.models import ProviderReview
from carestory.outbox.registry import register_guard, register_periodic
from carestory.stories.models import Story


@register_guard("provider_review_pending")
def provider_review_still_pending(args: dict[str, Any]) -> bool:
    """The provider-review email goes only while the story still waits for that review (not
    once it is withdrawn, decided or published)."""
    return ProviderReview.objects.filter(
        pk=args["review_id"],
        outcome=ProviderReview.Outcome.PENDING,
        story__status=Story.Status.PROVIDER_REVIEW,
    ).exists()


@register_periodic("moderation.publish_due_reviews", every_seconds=300)
def publish_due_reviews() -> int:
    """Stories whose provider gave no answer in 72 hours (also `manage.py publish_due_reviews`)."""
    from carestory.moderation.services.provider_review import provider_reviews_publish_due

    return provider_reviews_publish_due()
