"""Random identifiers and single-use secrets."""

from __future__ import annotations

import hashlib
import secrets

_PUBLIC_ID_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_public_id(length: int = 10) -> str:
    """A short, non-enumerable id for URLs (about 49 bits: guessing one is hopeless)."""
    return "".join(secrets.choice(_PUBLIC_ID_ALPHABET) for _ in range(length))


def new_secret_token() -> str:
    """A URL-safe token with 256 bits of entropy, for author links."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens are stored hashed, so a database leak does not hand out working links."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
