"""The public story page's part of the workspace: the public staff tags."""

from __future__ import annotations

from typing import Any

from django import template

from carestory.stories.models import Story
from carestory.workspace.selectors import public_staff_tags

register = template.Library()


@register.inclusion_tag("workspace/_public_staff_tags.html")
def public_staff_tags_of(story: Story) -> dict[str, Any]:
    return {"tags": public_staff_tags(story=story)}
