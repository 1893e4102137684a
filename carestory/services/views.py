"""The public service page: what the service is, where it is, and its stories."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.utils.http import urlencode

from carestory.lib.errors import page_status
from carestory.pagecache.middleware import public_page
from carestory.services.forms import StoryFilterForm
from carestory.services.models import Service
from carestory.services.selectors import service_get
from carestory.services.services import (
    service_permissions,
    service_profile,
    service_redirect_target,
)
from carestory.stories.forms import story_page_links
from carestory.stories.models import Tag
from carestory.stories.selectors import (
    stories_published_page,
    story_counts,
    subtree_is_large,
)
from carestory.stories.services import story_counts_refresh_request

STORIES_PER_PAGE = 20


def _map_url(service: Service) -> str:
    """A link to OpenStreetMap (no embedded third-party content), or "" without coordinates."""
    if service.latitude is None or service.longitude is None:
        return ""
    lat, lon = f"{service.latitude:.6f}", f"{service.longitude:.6f}"
    return (
        f"https://www.openstreetmap.org/?{urlencode({'mlat': lat, 'mlon': lon})}#map=16/{lat}/{lon}"
    )


@public_page
def service_detail(request: HttpRequest, code: str) -> HttpResponse:
    service = service_get(code=code)
    if service is None or not service.is_open:
        # A merged service's old code means the survivor now.
        survivor = service_redirect_target(code=code)
        if survivor is not None:
            target = survivor.get_absolute_url()
            if request.GET:
                target += f"?{request.GET.urlencode()}"
            return HttpResponsePermanentRedirect(target)
    if service is None:
        raise Http404

    tags = [(t.slug, t.name) for t in Tag.objects.order_by("name").only("slug", "name")]
    form = StoryFilterForm(request.GET, tags=tags)
    filters: dict[str, str] = {}
    query: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        query = {
            "tag": data["tag"],
            "published_from": data["from"],
            "published_to": data["to"],
            "after": data["after"],
            "before": data["before"],
        }
        filters = {name: request.GET.get(name, "").strip() for name in ("tag", "from", "to")}
    large = subtree_is_large(service)
    page = stories_published_page(service=service, size=STORIES_PER_PAGE, large=large, **query)
    counts = story_counts(service=service, large=large)
    if counts is None or counts.stale:
        story_counts_refresh_request(service=service)
    ancestors = service.ancestors()
    context = {
        "service": service,
        "breadcrumbs": ancestors,
        "children": list(service.children.order_by("name")),
        "page": page,
        **story_page_links(page, filters),
        "filters_active": any(filters.values()),
        "form": form,
        "counts": counts,
        "profile": service_profile(service=service, ancestors=ancestors),
        "map_url": _map_url(service),
        "permissions": service_permissions(user=request.user, service=service),
    }
    return render(request, "services/detail.html", context, status=page_status(form))
