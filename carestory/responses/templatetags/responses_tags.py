"""``{% my_pending_responses story %}`` on the story page: the signed-in responder's own
responses that are not published yet, with a link to change or delete them while they can."""

from __future__ import annotations

from typing import Any

from django import template

from carestory.accounts.models import User
from carestory.responses.selectors import response_is_editable, responses_pending_for
from carestory.stories.models import Story

register = template.Library()


@register.inclusion_tag("responses/_my_pending.html", takes_context=True)
def my_pending_responses(context: template.Context, story: Story) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated:
        return {"story": story, "pending": []}
    pending = [
        (response, response_is_editable(response=response))
        for response in responses_pending_for(story=story, responder=user)
    ]
    return {"story": story, "pending": pending}
