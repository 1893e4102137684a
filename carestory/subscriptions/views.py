"""The staff home page (/staff/, ``subscriptions:dashboard``) is the staff workspace."""

from __future__ import annotations

from carestory.workspace.views import workspace as dashboard

__all__ = ["dashboard"]
