"""Finding a service: the search page (and, later, suggestions as you type)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from carestory.services.selectors import service_search


def service_find(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    results = service_search(query=query) if query else []
    return render(request, "services/find.html", {"query": query, "results": results})
