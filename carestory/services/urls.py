from django.urls import path

from carestory.services import search_views, views

app_name = "services"

urlpatterns = [
    path("", search_views.service_find, name="find"),
    path("suggest", search_views.service_suggest, name="suggest"),
    path("<str:code>/", views.service_detail, name="detail"),
]
