from __future__ import annotations

import pytest

from carestory.alerts.models import Alert
from conftest import World


@pytest.fixture
def alerts_cleared(world: World) -> None:
    """No alerts to begin with (whatever the staff's memberships were given when made): each
    test sets the ones it is about."""
    Alert.objects.all().delete()
