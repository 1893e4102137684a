from django.urls import path

from carestory.stories import feeds, views

app_name = "stories"

urlpatterns = [
    path("", views.home, name="home"),
    path("stories/", views.story_list, name="list"),
    path("stories/feed.atom", feeds.PublishedStoriesFeed(), name="feed"),
    path("stories/<slug:public_id>/", views.story_detail, name="detail"),
    path(
        "stories/<slug:public_id>/responses/<int:response_id>/reply/",
        views.reply,
        name="reply",
    ),
    path("tell-your-story/", views.tell_your_story, name="tell"),
    path("tell-your-story/sent/", views.story_submitted, name="submitted"),
    path("verify/<str:token>/", views.verify, name="verify"),
    path("my-stories/", views.my_stories, name="my_stories"),
    path("my-stories/<slug:public_id>/", views.my_story, name="my_story"),
    path("my-stories/<slug:public_id>/withdraw/", views.withdraw, name="withdraw"),
    path("my-stories/<slug:public_id>/confirm/", views.confirm, name="confirm"),
]
