"""Random identifiers and single-use secrets."""

from __future__ import annotations

import base64
import hashlib
import secrets

_PUBLIC_ID_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_public_id(length: int = 10) -> str:
    """A short, non-enumerable id for URLs (about 49 bits: guessing one is hopeless)."""
    return "".join(secrets.choice(_PUBLIC_ID_ALPHABET) for _ in range(length))


def hash_token(token: str) -> str:
    """Tokens are stored hashed, so a database leak does not hand out working links."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# Secret links -------------------------------------------------------------------------------
# A link that signs someone in (confirm a story, sign in, answer a question) is emailed by the
# worker, later than the transaction that makes it. The outbox row keeps a random *seed*, never
# the token: the token is an HMAC of the seed under the SECRET_KEY, and the database keeps only
# the token's SHA-256. A copy of the database therefore holds no working link.

SECRET_LINK_KEY = "$secret_link"  # noqa: S105  (a dictionary key, not a secret)


# Every view whose URL carries such a token. The outbox refuses a context string that contains
# one of their paths, so a raw token cannot be queued by mistake.
SECRET_LINK_VIEWS = (
    "stories:verify",
    "accounts:sign_in_confirm",
    "author_answer:answer",
    "accounts:password_reset_confirm",
    "subscriptions:invitation_accept",
)


def new_link_seed() -> str:
    """A random seed for one secret link (stored in the outbox row until the email is sent)."""
    return secrets.token_urlsafe(24)


def token_from_seed(seed: str) -> str:
    """The link's token: HMAC-SHA256 of the seed under the SECRET_KEY, URL-safe (43 chars)."""
    from django.utils.crypto import salted_hmac

    digest = salted_hmac("carestory.secret-link", seed, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def secret_link(view_name: str, seed: str) -> dict[str, list[str]]:
    """A context value the outbox turns into ``absolute_url(view_name, token)`` when it renders
    the email, and forgets once the email is sent."""
    return {SECRET_LINK_KEY: [view_name, seed]}
