from django.urls import path

from carestory.reports import views

app_name = "reports"

urlpatterns = [
    path("moderation/", views.moderation, name="moderation"),
]
