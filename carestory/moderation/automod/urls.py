"""Public endpoint for the author's writing guidance (same engine as the moderators')."""

from django.urls import URLPattern

app_name = "automod"

urlpatterns: list[URLPattern] = []
