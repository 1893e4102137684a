"""lib/errors.py: the three ways a use case says no and what a view makes of each."""

from __future__ import annotations

import pytest
from django import forms
from django.http import Http404

from carestory.lib.errors import (
    ConflictError,
    NotAllowed,
    Outcome,
    Problems,
    ValidationError,
    attempt,
    errors_to_form,
    page_status,
)


class _Form(forms.Form):
    title = forms.CharField(required=False)


def _bound() -> _Form:
    form = _Form({"title": "x"})
    assert form.is_valid()
    return form


def _raise(exc: Exception) -> None:
    raise exc


def test_done_carries_the_value() -> None:
    outcome = attempt(lambda: 42, _bound())
    assert outcome == Outcome(value=42, done=True)
    assert page_status(_bound(), outcome) == 200


def test_not_allowed_is_a_404() -> None:
    with pytest.raises(Http404):
        attempt(lambda: _raise(NotAllowed()), _bound())


def test_conflict_is_a_409_and_leaves_the_form_clean() -> None:
    form = _bound()
    outcome = attempt(lambda: _raise(ConflictError(3)), form)
    assert outcome.conflict and not outcome.done
    assert not form.errors
    assert page_status(form, outcome) == 409


def test_field_messages_land_on_their_field_and_unknown_fields_on_the_form() -> None:
    form = _bound()
    exc = ValidationError({"title": "Give it a title", "elsewhere": "Something else"})
    outcome = attempt(lambda: _raise(exc), form)
    assert outcome.invalid
    assert form.errors["title"] == ["Give it a title"]
    assert form.non_field_errors() == ["Something else"]
    assert page_status(form, outcome) == 400


def test_a_message_without_a_field_goes_on_the_form() -> None:
    form = _bound()
    errors_to_form(form, ValidationError("Not now"))
    assert form.non_field_errors() == ["Not now"]


def test_a_field_the_form_already_refused_keeps_its_own_message() -> None:
    form = _Form({"title": "x\x00"})  # a null character: the field's own type check refuses it
    assert not form.is_valid()
    errors_to_form(form, ValidationError({"title": "Give it a title", "other": "Elsewhere"}))
    assert form.errors["title"] == ["Null characters are not allowed."]
    assert form.non_field_errors() == ["Elsewhere"]


def test_problems_runs_every_check_and_raises_all_their_messages() -> None:
    def refuse(message: str | dict[str, str]) -> str:
        raise ValidationError(message)

    problems = Problems()
    assert problems.check(lambda: "kept", default="") == "kept"
    assert problems.check(lambda: refuse({"title": "Give it a title"}), default="") == ""
    assert problems.check(lambda: refuse({"body": "Write something"}), default="-") == "-"
    assert problems.check(lambda: refuse("Not now"), default="") == ""
    with pytest.raises(ValidationError) as caught:
        problems.raise_any()
    assert caught.value.message_dict == {
        "title": ["Give it a title"],
        "body": ["Write something"],
        "__all__": ["Not now"],
    }
    Problems().raise_any()  # nothing wrong: nothing raised


def test_bad_input_without_a_form_is_raised() -> None:
    with pytest.raises(ValidationError):
        attempt(lambda: _raise(ValidationError("x")))


def test_other_errors_are_not_swallowed() -> None:
    with pytest.raises(KeyError):
        attempt(lambda: _raise(KeyError("x")), _bound())


def test_page_status_of_a_form_alone() -> None:
    assert page_status(_Form()) == 200
    assert page_status(_Form({"title": "x" * 3})) == 200
    invalid = _Form({})
    invalid.add_error(None, "wrong")
    assert page_status(invalid) == 400
    assert page_status() == 200


def test_page_status_said_without_an_outcome() -> None:
    assert page_status(conflict=True) == 409
    assert page_status(_Form(), invalid=True) == 400
    assert page_status(_Form(), conflict=True, invalid=True) == 409
    assert page_status(_Form(), invalid=False, conflict=False) == 200
