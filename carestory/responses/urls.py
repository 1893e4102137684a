from django.urls import path

from carestory.responses import views

app_name = "responses"

urlpatterns = [
    path("stories/<slug:public_id>/respond/", views.respond, name="respond"),
    path(
        "stories/<slug:public_id>/my-responses/<int:pk>/",
        views.edit,
        name="edit",
    ),
    path(
        "stories/<slug:public_id>/my-responses/<int:pk>/delete/",
        views.delete,
        name="delete",
    ),
]
