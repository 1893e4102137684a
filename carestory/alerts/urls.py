from django.urls import path

from carestory.alerts import views

app_name = "alerts"

urlpatterns = [
    path("", views.alert_list, name="list"),
    path("members/<int:membership_id>/", views.member_alerts, name="member"),
    path("members/<int:membership_id>/new/", views.alert_new, name="new"),
    path("<int:alert_id>/edit/", views.alert_edit, name="edit"),
    path("<int:alert_id>/delete/", views.alert_remove, name="delete"),
    # Not a lib.tokens secret link (no seed, nothing stored): a signature only the
    # SECRET_KEY makes, naming one alert (outbox.services.signed_link).
    path("unsubscribe/<str:signed>/", views.unsubscribe, name="unsubscribe"),
]
