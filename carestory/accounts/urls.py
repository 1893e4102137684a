from django.urls import path

from carestory.accounts import mfa_views, views
from carestory.accounts.signin import password_login

app_name = "accounts"

urlpatterns = [
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-in/<str:token>/", views.sign_in_confirm, name="sign_in_confirm"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("staff/login/", password_login(views.StaffLoginView.as_view()), name="staff_login"),
    path("staff/mfa/", mfa_views.mfa_manage, name="mfa_manage"),
    path("staff/mfa/code/", mfa_views.mfa_verify_view, name="mfa_verify"),
    path("staff/mfa/enrol/", mfa_views.mfa_enrol_view, name="mfa_enrol"),
    path("staff/mfa/recovery-codes/", mfa_views.mfa_recovery_codes_view, name="mfa_recovery"),
    path("staff/mfa/turn-off/", mfa_views.mfa_disable_view, name="mfa_disable"),
    path("staff/password-reset/", mfa_views.password_reset, name="password_reset"),
    path(
        "staff/password-reset/<str:token>/",
        mfa_views.password_reset_confirm,
        name="password_reset_confirm",
    ),
]
