"""The checks every moderation decision makes first: the user is a moderator, one who may
decide on this story (``stories/lifecycle.can_decide``: held stories, senior moderators only),
and the story is still in a state the decision starts from. The moderators' decisions on
staff responses and author replies (``responses/moderation.py``) make the first and ask
``awaits_decision`` there for the last.

``clean_text`` is how their text inputs (notes, questions, reasons, public text) are checked:
each decision names its own field, limit and messages, keyed by the form's field name.
"""

from __future__ import annotations

from carestory.accounts.models import User
from carestory.lib.errors import ConflictError, NotAllowed
from carestory.stories.lifecycle import can_change_services, can_decide
from carestory.stories.models import Story


def require_moderator(user: User) -> None:
    if not (user.is_authenticated and user.moderates):
        raise NotAllowed("Moderators only")


def require_can_decide(story: Story, moderator: User) -> None:
    """Who may decide in which state is ``stories/lifecycle.can_decide`` (held: senior
    moderators only). Called after ``require_status``, so a story that has moved on is a
    conflict rather than a refusal."""
    if not can_decide(story, moderator):
        raise NotAllowed("Senior moderators only")


def require_can_change_services(story: Story, moderator: User) -> None:
    """Who may change a story's services in which state is
    ``stories/lifecycle.can_change_services`` (also while it waits for the author)."""
    if not can_change_services(story, moderator):
        raise NotAllowed("Senior moderators only")


def require_status(obj: Story, *allowed: str) -> None:
    if obj.status not in allowed:
        raise ConflictError(obj.version)


def require_may_decide(story: Story, moderator: User, *allowed: str) -> None:
    """What a decision on ``story`` checks first, in this order: a moderator; the story still
    in one of the ``allowed`` states it starts from (a conflict otherwise); one who may decide
    on it (``require_can_decide``)."""
    require_moderator(moderator)
    require_status(story, *allowed)
    require_can_decide(story, moderator)
