"""Moderation decisions on stories, one module per concern. Each use case is one function per
transition: check who may make it and the state, move the story through
``stories/lifecycle.story_transition`` (a conditional UPDATE under the version lock and the
audit event), and queue the emails, all in one transaction.

The story's states, every transition and who may make it are drawn in one place: the
docstring of ``carestory/stories/lifecycle.py``. Every path to "published" goes through
``publication._publish_now``.

- ``checks``: moderators only; held stories, senior moderators only (``can_decide``); the
  state a decision starts from (a conflict otherwise)
- ``claims``: opening a story claims it for 15 minutes; moderator notes
- ``edits``: saving the public version without deciding, an automated suggestion applied,
  the services changed; every text change kept as a revision
- ``publication``: ``_publish_now``, the one way to "published"
- ``decisions``: publish (at once, or to the provider first; signposting), reject
- ``provider_review``: the provider's go ahead or request for review; 72 hours without an
  answer publishes
- ``questions``: ask the author, the author's answer by emailed link, stop waiting
- ``safeguarding``: hold for a senior moderator and tell the safeguarding contacts

Import each function from the module that owns it (nothing is re-exported here). A name with
a leading underscore imported from a sibling is a step a use case takes inside its own
transaction, not a use case. The moderators' decisions on staff responses and author replies
are in ``carestory/responses/moderation.py``.
"""
