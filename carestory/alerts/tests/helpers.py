from __future__ import annotations

from typing import Any

from carestory.accounts.models import User
from carestory.alerts.models import Alert
from carestory.alerts.services import AlertChoice, alert_create
from carestory.stories.models import Story, StoryTag, Tag
from carestory.subscriptions.models import Membership, Subscription


def membership_of(user: User, subscription: Subscription) -> Membership:
    return Membership.objects.select_related("subscription").get(
        user=user, subscription=subscription
    )


def alert_for(user: User, subscription: Subscription, **choice: Any) -> Alert:
    """An alert the user sets for themselves (new stories, immediately, unless told)."""
    choice.setdefault("events", ["stories"])
    return alert_create(
        actor=user, membership=membership_of(user, subscription), choice=AlertChoice(**choice)
    )


def tag(story: Story, slug: str) -> None:
    StoryTag.objects.create(story=story, tag=Tag.objects.get(slug=slug), polarity=1)
