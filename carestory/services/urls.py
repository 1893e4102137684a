from django.urls import path

from carestory.services import views

app_name = "services"

urlpatterns = [
    path("", views.service_find, name="find"),
    path("<str:code>/", views.service_detail, name="detail"),
]
