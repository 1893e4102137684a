"""What the subscriptions tests share."""

from __future__ import annotations

from carestory.alerts.models import Alert
from carestory.alerts.selectors import alerts_candidates
from carestory.services.models import Service
from carestory.subscriptions.models import Membership


def alerted(*, services: list[Service]) -> list[Membership]:
    """Whose "immediately" alerts a story about ``services`` reaches (before the filters)."""
    return [
        a.membership
        for a in alerts_candidates(services=services, frequency=Alert.Frequency.IMMEDIATE)
    ]
