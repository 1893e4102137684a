from django.urls import path

from carestory.moderation import views

app_name = "moderation"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("stories/<slug:public_id>/", views.story_moderate, name="story"),
    path("stories/<slug:public_id>/release/", views.story_release, name="story_release"),
    path("stories/<slug:public_id>/services/", views.story_services, name="story_services"),
    path(
        "stories/<slug:public_id>/stop-waiting/",
        views.story_question_cancel,
        name="story_question_cancel",
    ),
    path("responses/<int:pk>/", views.response_moderate, name="response"),
    path("replies/<int:pk>/", views.reply_moderate, name="reply"),
]
