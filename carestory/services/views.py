"""Finding a service and the service page."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from carestory.services.selectors import service_breadcrumbs, service_get
from carestory.stories.selectors import stories_published


def service_detail(request: HttpRequest, code: str) -> HttpResponse:
    service = service_get(code=code)
    if service is None:
        raise Http404
    page = Paginator(stories_published(service=service), 20).get_page(request.GET.get("page"))
    children = service.children.order_by("name")
    return render(
        request,
        "services/detail.html",
        {
            "service": service,
            "breadcrumbs": service_breadcrumbs(service),
            "children": children,
            "page": page,
        },
    )
