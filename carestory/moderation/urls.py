from django.urls import path

from carestory.moderation import views

app_name = "moderation"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("stories/<slug:public_id>/", views.story_moderate, name="story"),
    path("responses/<int:pk>/", views.response_moderate, name="response"),
    path("replies/<int:pk>/", views.reply_moderate, name="reply"),
]
