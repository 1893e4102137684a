from django.urls import path

from carestory.workspace import views

app_name = "workspace"

# /staff/ itself is subscriptions:dashboard (the workspace list); these are under it.
urlpatterns = [
    path("stories/<slug:public_id>/", views.story, name="story"),
    path("stories/<slug:public_id>/respond/", views.respond, name="respond"),
    path("stories/<slug:public_id>/tags/", views.tag_add, name="tag_add"),
    path("stories/<slug:public_id>/tags/<int:tag_id>/remove/", views.tag_remove, name="tag_remove"),
    path("searches/", views.searches, name="searches"),
    path("searches/<int:pk>/", views.search_run, name="search_run"),
    path("searches/<int:pk>/delete/", views.search_delete, name="search_delete"),
]
