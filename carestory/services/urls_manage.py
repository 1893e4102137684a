"""Staff editing of the service tree (add, rename, move, close, merge, describe)."""

from django.urls import path

from carestory.services import manage_views

app_name = "services_manage"

urlpatterns = [
    path("<str:code>/", manage_views.manage_home, name="home"),
    path("<str:code>/add-department/", manage_views.add_department, name="add_department"),
    path("<str:code>/rename/", manage_views.rename, name="rename"),
    path("<str:code>/move/", manage_views.move, name="move"),
    path("<str:code>/close/", manage_views.close, name="close"),
    path("<str:code>/merge/", manage_views.merge, name="merge"),
    path("<str:code>/describe/", manage_views.describe, name="describe"),
]
