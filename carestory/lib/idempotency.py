"""Idempotent creation: a form sent twice (the same idempotency key) makes one row. The form
carries a fresh key (``IdempotentForm``); the use case makes its row with ``create_once``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.db import IntegrityError, models, transaction

__all__ = ["IdempotentForm", "create_once"]

M = TypeVar("M", bound=models.Model)
R = TypeVar("R")


def create_once(
    model: type[M],
    *,
    idempotency_key: Any,
    create: Callable[[], R],
    same: Callable[[M], R],
) -> R:
    """``create()`` in a transaction, unless a row with ``idempotency_key`` exists: then
    ``same(existing)``, which answers it or raises if it was made for something else.

    Both answer with the same type: the row itself, or what the use case returns for it.
    ``model`` has a unique ``idempotency_key`` column; a concurrent double submit loses the
    insert to the other request's unique key, and is answered with the row that won.
    """
    existing = model._default_manager.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return same(existing)
    try:
        with transaction.atomic():
            return create()
    except IntegrityError:
        # A concurrent double submit: the other request's insert won the unique key.
        existing = model._default_manager.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return same(existing)


class IdempotentForm(forms.Form):
    """A form that sends a fresh idempotency key in a hidden field: the page makes one key, so
    the same form sent twice (a double click, a reload) names the same row."""

    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4())
