"""The site's URLs plus the bench's floor view (see bench_settings)."""

from typing import Any

from django.urls import path

from carestory.synthetic.bench import floor
from carestory.urls import urlpatterns as site_urlpatterns

urlpatterns: list[Any] = [
    path("__bench__/floor", floor, name="bench_floor"),
    *site_urlpatterns,
]
