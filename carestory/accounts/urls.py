from django.urls import path

from carestory.accounts import views
from carestory.accounts.signin import password_login

app_name = "accounts"

urlpatterns = [
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-in/<str:token>/", views.sign_in_confirm, name="sign_in_confirm"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("staff/login/", password_login(views.StaffLoginView.as_view()), name="staff_login"),
]
