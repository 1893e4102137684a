"""How a use case says no, and how every view answers it: one file.

A service function either returns, or raises one of three things; a view answers each the same
way everywhere:

=====================  ==============================================  ===========================
raised by a service    meaning                                         what the view answers
=====================  ==============================================  ===========================
``NotAllowed``         this user may not do this to this object        404, never 403, so nothing
                                                                       is revealed (invariant 2)
``ConflictError``      someone changed the object since it was read    409: the page again, with
                       (``lib/locking.update_if_version``)             what is there now
``ValidationError``    the input is wrong: ``{field: message}``, or    400: the form again, the
                       one message for the whole form                  messages on their fields
=====================  ==============================================  ===========================

Selectors never raise for "not found" or "not yours": they return ``None`` and the view raises
``Http404`` (an API endpoint, ninja's ``HttpError(404, ...)``). Services validate what the use
case needs (required, lengths, allowed values, states, references) once, keyed by the form's
field names, and ``Problems`` gathers every message of one input; forms keep only type and shape
(a number is a number, a choice is one of the choices), with no message of their own for a rule
the service checks. So a view, an API endpoint, a management command and the demo loader all get
the same message.

In a view::

    outcome = attempt(lambda: story_author_edit(story=story, ...), form)
    if outcome.done:
        return redirect(...)
    return render(request, template, {..., "conflict": outcome.conflict},
                  status=page_status(form, outcome))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404

T = TypeVar("T")

__all__ = [
    "ConflictError",
    "NotAllowed",
    "Outcome",
    "Problems",
    "ValidationError",
    "attempt",
    "errors_to_form",
    "page_status",
]


class NotAllowed(Exception):
    """This user may not do this to this object. Views answer 404 so nothing is revealed."""


class ConflictError(Exception):
    """Someone else changed the object since it was read (its version moved on)."""

    def __init__(self, current_version: int | None) -> None:
        super().__init__("The item was changed by someone else")
        self.current_version = current_version


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What became of an attempted use case: done (with its value), a conflict, or invalid."""

    value: T | None = None
    done: bool = False
    conflict: bool = False
    invalid: bool = False


class Problems:
    """Every check of one input run, and all their messages raised together, so a person sees
    every problem at once (as a form shows them), not one at a time::

        problems = Problems()
        title = problems.check(lambda: _clean_title(title), default="")
        body = problems.check(lambda: _clean_body(body), default="")
        problems.raise_any()
    """

    def __init__(self) -> None:
        self._errors: dict[str, list[ValidationError]] = {}

    def check(self, check: Callable[[], T], default: T) -> T:
        """What ``check`` returns, or ``default`` after keeping its messages."""
        try:
            return check()
        except ValidationError as exc:
            self._errors = exc.update_error_dict(self._errors)
            return default

    def raise_any(self) -> None:
        if self._errors:
            raise ValidationError(self._errors)


def errors_to_form(form: forms.BaseForm, exc: ValidationError) -> None:
    """Put a service's messages on the form: ``{field: msg}`` on that field when the form has
    it, anything else (and a message without a field) on the form as a whole. A field that
    already shows a message (the form's own type check) keeps just that one: one message a
    field, as the NHS error pattern asks."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        if field not in form.fields:
            form.add_error(None, errors)
        elif field not in form.errors:
            form.add_error(field, errors)


def attempt(action: Callable[[], T], form: forms.BaseForm | None = None) -> Outcome[T]:
    """Run a use case for a view: ``NotAllowed`` becomes 404, a conflict and bad input become
    an ``Outcome`` the view renders (bad input goes onto ``form``; without a form it is raised,
    as a programming error: every view that takes input has a form)."""
    try:
        value = action()
    except NotAllowed as exc:
        raise Http404 from exc
    except ConflictError:
        return Outcome(conflict=True)
    except ValidationError as exc:
        if form is None:
            raise
        errors_to_form(form, exc)
        return Outcome(invalid=True)
    return Outcome(value=value, done=True)


def page_status(
    form: forms.BaseForm | None = None,
    outcome: Outcome[Any] | None = None,
    *,
    conflict: bool = False,
    invalid: bool = False,
) -> int:
    """The status of a page that shows a form: 409 after a conflict, 400 when the form (or the
    use case) found bad input, else 200. ``conflict`` and ``invalid`` say so for a view that
    found it without an ``Outcome`` (someone decided first; a choice that no longer exists, a
    window that has closed)."""
    if conflict or (outcome is not None and outcome.conflict):
        return 409
    if invalid or (outcome is not None and outcome.invalid) or (form is not None and form.errors):
        return 400
    return 200
