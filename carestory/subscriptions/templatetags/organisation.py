"""``{% organisation_links %}``: on a staff page, the signed-in person's organisations, a link
to the members pages of each they administer, their profile, and the switch between them."""

from __future__ import annotations

from typing import Any

from django import template

from carestory.accounts.models import User
from carestory.subscriptions.manage_views import ACTIVE_SUBSCRIPTION_KEY
from carestory.subscriptions.selectors import active_membership, memberships_for

register = template.Library()


@register.inclusion_tag("subscriptions/_organisation_links.html", takes_context=True)
def organisation_links(context: template.Context) -> dict[str, Any]:
    request = context["request"]
    user = request.user
    if not isinstance(user, User):
        return {"memberships": []}
    active = active_membership(user=user, chosen=request.session.get(ACTIVE_SUBSCRIPTION_KEY))
    return {
        "memberships": memberships_for(user=user),
        "active": active,
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }
