"""The links in a queued email, as its recipient reads them (rendered from the outbox row)."""

from __future__ import annotations

from carestory.outbox.models import OutboxMessage
from carestory.outbox.services import outbox_render


def emailed_path(dedupe_key_prefix: str, path: str) -> str:
    """The site path of the ``path`` link (``/verify/<token>/``) in the one queued email whose
    dedupe key starts with ``dedupe_key_prefix``."""
    message = OutboxMessage.objects.get(dedupe_key__startswith=dedupe_key_prefix)
    line = next(line for line in outbox_render(message).body_text.splitlines() if path in line)
    return path + line.strip().split(path, 1)[1]


def verify_token() -> str:
    """The token of the link in the one queued story verification email."""
    return emailed_path("story-verify:", "/verify/").rstrip("/").rsplit("/", 1)[-1]
