from django.urls import path

from carestory.subscriptions import manage_views, views

app_name = "subscriptions"

_org = "staff/organisations/<str:code>/"

urlpatterns = [
    path("staff/", views.dashboard, name="dashboard"),
    path("staff/switch/", manage_views.switch, name="switch"),
    path("staff/profile/", manage_views.profile, name="profile"),
    path("staff/organisation/", manage_views.organisation, name="organisation"),
    path(_org + "members/", manage_views.members, name="members"),
    path(_org + "members/invite/", manage_views.invite, name="invite"),
    path(_org + "members/upload/", manage_views.upload, name="upload"),
    path(
        _org + "members/upload/<int:upload_id>/",
        manage_views.upload_preview,
        name="upload_preview",
    ),
    path(_org + "members/<int:membership_id>/", manage_views.member, name="member"),
    path(_org + "members/<int:membership_id>/freeze/", manage_views.freeze, name="freeze"),
    path(_org + "members/<int:membership_id>/unfreeze/", manage_views.unfreeze, name="unfreeze"),
    path(_org + "members/<int:membership_id>/remove/", manage_views.remove, name="remove"),
    path(
        _org + "invitations/<int:invitation_id>/withdraw/",
        manage_views.invitation_withdraw_view,
        name="invitation_withdraw",
    ),
    path(_org + "safeguarding/", manage_views.safeguarding, name="safeguarding"),
    path("staff/join/<str:token>/", manage_views.invitation_accept_view, name="invitation_accept"),
]
