"""Public endpoint for the author's writing guidance (same engine as the moderators')."""

from django.urls import URLPattern, path

from carestory.automod import views

app_name = "automod"

urlpatterns: list[URLPattern] = [
    path("tell-your-story/guidance", views.guidance, name="guidance"),
]
