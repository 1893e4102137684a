"""Staff editing of the service tree (add, rename, move, close, merge)."""

from django.urls import URLPattern

app_name = "services_manage"

urlpatterns: list[URLPattern] = []
