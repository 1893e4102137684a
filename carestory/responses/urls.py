from django.urls import path

from carestory.responses import views

app_name = "responses"

urlpatterns = [
    path("stories/<slug:public_id>/respond/", views.respond, name="respond"),
]
