"""The author answers a moderator's question through the emailed single-use link."""

from django.urls import path

from carestory.moderation import views_external

app_name = "author_answer"

urlpatterns = [
    path("answer/<str:token>/", views_external.answer, name="answer"),
]
