"""Providers' administrators decide on an approved story before it is published."""

from django.urls import path

from carestory.moderation import views_external

app_name = "provider_review"

urlpatterns = [
    path("provider-review/<int:pk>/", views_external.provider_review, name="review"),
]
