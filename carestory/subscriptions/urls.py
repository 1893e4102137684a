from django.urls import path

from carestory.subscriptions import views

app_name = "subscriptions"

urlpatterns = [
    path("staff/", views.dashboard, name="dashboard"),
]
