"""Keeping the service tree right: subscription administrators and site staff add, rename,
move, close, merge and describe services in their scope. Anyone else gets 404."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from carestory.accounts.models import User
from carestory.lib.decorators import staff_required
from carestory.lib.errors import ValidationError, attempt, page_status
from carestory.services.forms import (
    CloseForm,
    DepartmentForm,
    DescribeForm,
    MergeForm,
    MoveForm,
    RenameForm,
)
from carestory.services.models import Service
from carestory.services.selectors import no_service_message, service_get, services_by_codes
from carestory.services.services import (
    ServicePermissions,
    service_add_department,
    service_close,
    service_code_too_long,
    service_describe,
    service_history,
    service_merge,
    service_move,
    service_permissions,
    service_rename,
)

_ACTIONS = {
    "service.add_department": gettext_lazy("Added as a department"),
    "service.department_added": gettext_lazy("A department was added below it"),
    "service.rename": gettext_lazy("Renamed"),
    "service.move": gettext_lazy("Moved"),
    "service.close": gettext_lazy("Closed"),
    "service.merge": gettext_lazy("Merged into another service"),
    "service.merge_in": gettext_lazy("Another service merged into this one"),
    "service.describe": gettext_lazy("Description or website changed"),
}


_FIELDS = {
    "name": gettext_lazy("name"),
    "code": gettext_lazy("code"),
    "parent": gettext_lazy("part of"),
    "department": gettext_lazy("department"),
    "description": gettext_lazy("description"),
    "website": gettext_lazy("website"),
    "is_open": gettext_lazy("open"),
    "closed_on": gettext_lazy("closed on"),
    "also_closed": gettext_lazy("services below it also closed"),
    "services_moved": gettext_lazy("services moved"),
    "into": gettext_lazy("merged into"),
    "merged": gettext_lazy("merged in"),
    "stories_moved": gettext_lazy("stories moved"),
    "children_moved": gettext_lazy("services below it moved"),
    "redirects_moved": gettext_lazy("old codes now pointing here"),
}


def _change_lines(changes: dict[str, Any]) -> list[str]:
    """ "name: Ward 1 → Ward One", "into: RXX01" ... for the history list."""

    def short(value: Any) -> str:
        if isinstance(value, bool):
            return str(_("yes") if value else _("no"))
        text = " ".join(str(value).split()) if value not in ("", None) else "—"
        return text if len(text) <= 80 else text[:79] + "…"

    lines = []
    for key, value in changes.items():
        if isinstance(value, list) and len(value) == 2:
            lines.append(f"{_FIELDS.get(key, key)}: {short(value[0])} → {short(value[1])}")
        else:
            lines.append(f"{_FIELDS.get(key, key)}: {short(value)}")
    return lines


def _managed(
    request: HttpRequest, code: str, *, restructure: bool = False
) -> tuple[User, Service, ServicePermissions]:
    """The user and the service, or 404 if the user may not manage it (or it does not exist)."""
    user = request.user
    if not isinstance(user, User):
        raise Http404
    service = service_get(code=code)
    if service is None:
        raise Http404
    permissions = service_permissions(user=user, service=service)
    if not permissions.manage or (restructure and not permissions.restructure):
        raise Http404
    return user, service, permissions


def _posted(request: HttpRequest) -> Any:
    """The POST data for a bound form (even when empty, as for "close"), or None on GET."""
    return request.POST if request.method == "POST" else None


def _service_by_code(data: dict[str, Any], field: str) -> Service:
    """The service whose code is in ``field``; a ValidationError on that field if none."""
    code = data[field].strip().upper()
    if too_long := service_code_too_long(code):
        raise ValidationError({field: too_long})
    found, _missing = services_by_codes([code])
    if not found:
        raise ValidationError({field: no_service_message([code])})
    return found[0]


# What a use case run from an action's form says: the service to go back to, and the message.
Done = tuple[Service, str]


def _action_page(
    request: HttpRequest,
    service: Service,
    form: forms.Form,
    run: Callable[[dict[str, Any]], Done],
    *,
    title: str,
    button: str,
    intro: str = "",
    warning: str = "",
) -> HttpResponse:
    """One action's page: on a valid POST, ``run`` takes the form's data to its use case
    (through ``attempt``, so the use case's messages go on the form) and the user goes back to
    the service it names, with its message; otherwise the form again."""
    if request.method == "POST" and form.is_valid():
        done = attempt(lambda: run(form.cleaned_data), form).value
        if done is not None:
            landing, message = done
            messages.success(request, message)
            return redirect("services_manage:home", code=landing.code)
    return render(
        request,
        "services/manage/form.html",
        {
            "service": service,
            "form": form,
            "title": title,
            "button": button,
            "intro": intro,
            "warning": warning,
        },
        status=page_status(form),
    )


@staff_required
@require_GET
def manage_home(request: HttpRequest, code: str) -> HttpResponse:
    _user, service, permissions = _managed(request, code)
    return render(
        request,
        "services/manage/home.html",
        {
            "service": service,
            "permissions": permissions,
            "breadcrumbs": service.ancestors(),
            "children": list(service.children.order_by("name")),
            "history": [
                {
                    "event": event,
                    "action": _ACTIONS.get(event.action, event.action),
                    "changes": _change_lines(event.changes),
                }
                for event in service_history(service=service)
            ],
        },
    )


def _add_department(user: User, service: Service, data: dict[str, Any]) -> Done:
    department = service_add_department(
        actor=user, parent=service, name=data["name"], code=data["code"]
    )
    return service, _("Added %(name)s (code %(code)s)") % {
        "name": department.name,
        "code": department.code,
    }


def _rename(user: User, service: Service, data: dict[str, Any]) -> Done:
    service_rename(actor=user, service=service, name=data["name"])
    return service, _("Renamed to %(name)s") % {"name": data["name"]}


def _move(user: User, service: Service, data: dict[str, Any]) -> Done:
    target = _service_by_code(data, "parent")
    service_move(actor=user, service=service, new_parent=target)
    return service, _("Moved under %(name)s") % {"name": target.name}


def _close(user: User, service: Service, data: dict[str, Any]) -> Done:
    service_close(actor=user, service=service)
    return service, _("Closed")


def _merge(user: User, service: Service, data: dict[str, Any]) -> Done:
    target = _service_by_code(data, "into")
    survivor = service_merge(actor=user, service=service, into=target).survivor
    return survivor, _("Merged %(old)s into %(name)s") % {
        "old": service.code,
        "name": survivor.name,
    }


def _describe(user: User, service: Service, data: dict[str, Any]) -> Done:
    service_describe(
        actor=user, service=service, description=data["description"], website=data["website"]
    )
    return service, _("Saved the description")


@dataclass(frozen=True)
class TreeAction:
    """One action on the service tree, as its page shows it: the form, the use case it runs
    (``run(user, service, data)``), the words on the page (``title`` names the service as
    ``%(name)s``), whether it restructures the tree (site staff, or administrators whose scope
    allows it: ``ServicePermissions.restructure``) and the form's starting values."""

    form: type[forms.Form]
    run: Callable[[User, Service, dict[str, Any]], Done]
    title: Promise
    button: Promise
    intro: Promise | str = ""
    warning: Promise | str = ""
    restructure: bool = True
    initial: Callable[[Service], dict[str, Any]] = lambda _service: {}


def _action_view(action: TreeAction) -> Callable[[HttpRequest, str], HttpResponse]:
    """The page for ``action`` on the service with ``code`` (404 unless the user manages it)."""

    @staff_required
    @require_http_methods(["GET", "POST"])
    def view(request: HttpRequest, code: str) -> HttpResponse:
        user, service, _permissions = _managed(request, code, restructure=action.restructure)
        return _action_page(
            request,
            service,
            action.form(_posted(request), initial=action.initial(service)),
            lambda data: action.run(user, service, data),
            title=str(action.title) % {"name": service.name},
            button=str(action.button),
            intro=str(action.intro),
            warning=str(action.warning),
        )

    return view


add_department = _action_view(
    TreeAction(
        form=DepartmentForm,
        run=_add_department,
        title=gettext_lazy("Add a department to %(name)s"),
        button=gettext_lazy("Add department"),
        restructure=False,
    )
)
rename = _action_view(
    TreeAction(
        form=RenameForm,
        run=_rename,
        title=gettext_lazy("Rename %(name)s"),
        button=gettext_lazy("Rename"),
        initial=lambda service: {"name": service.name},
    )
)
move = _action_view(
    TreeAction(
        form=MoveForm,
        run=_move,
        title=gettext_lazy("Move %(name)s"),
        button=gettext_lazy("Move"),
        intro=gettext_lazy("Everything below it moves with it. Its stories stay with it."),
    )
)
close = _action_view(
    TreeAction(
        form=CloseForm,
        run=_close,
        title=gettext_lazy("Close %(name)s"),
        button=gettext_lazy("Close this service"),
        warning=gettext_lazy(
            "Closing it also closes every service below it that is still open. Their stories "
            "stay published, but nobody can tell a new story about them."
        ),
    )
)
merge = _action_view(
    TreeAction(
        form=MergeForm,
        run=_merge,
        title=gettext_lazy("Merge %(name)s into another service"),
        button=gettext_lazy("Merge"),
        warning=gettext_lazy(
            "Its stories and the services below it move to the other service. It closes, and "
            "its code and page send people to the other service. This cannot be undone."
        ),
    )
)
describe = _action_view(
    TreeAction(
        form=DescribeForm,
        run=_describe,
        title=gettext_lazy("Describe %(name)s"),
        button=gettext_lazy("Save"),
        intro=gettext_lazy(
            "Shown on the service page while your organisation subscribes. Services below "
            "it show the same words unless they have their own."
        ),
        restructure=False,
        initial=lambda service: {"description": service.description, "website": service.website},
    )
)
