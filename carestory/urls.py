from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from carestory.accounts.signin import AdminLoginForm, password_login
from carestory.api import views as api_views
from carestory.api.api import api
from carestory.lib.health import healthz

admin.site.site_header = "Carestory internal admin"
# The admin login goes through the sign-in throttle and is recorded (LoginAttempt, "admin"):
# the form checks and records, the wrapper answers 429 and sets the device cookie.
admin.site.login_form = AdminLoginForm

urlpatterns = [
    path("", include("carestory.stories.urls")),
    path("", include("carestory.accounts.urls")),
    path("", include("carestory.responses.urls")),
    path("", include("carestory.subscriptions.urls")),
    path("staff/", include("carestory.workspace.urls")),
    path("staff/alerts/", include("carestory.alerts.urls")),
    path("services/", include("carestory.services.urls")),
    path("manage/services/", include("carestory.services.urls_manage")),
    path("statistics/", include("carestory.reports.urls")),
    path("moderation/", include("carestory.moderation.urls")),
    path("", include("carestory.moderation.urls_answer")),
    path("", include("carestory.moderation.urls_provider_review")),
    path("", include("carestory.automod.urls")),
    path("api/v1/docs", api_views.docs, name="api_docs"),
    path("api/v1/", api.urls),
    path("healthz", healthz, name="healthz"),
    path(settings.ADMIN_URL + "login/", password_login(admin.site.login)),
    path(settings.ADMIN_URL, admin.site.urls),
]
