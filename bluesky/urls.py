"""The API of Bluesky posts (under /api/): a tape's post, and the user's choice on /me."""

from django.urls import path

from bluesky import apis

app_name = "bluesky"

urlpatterns = [
    path("tapes/<str:code>/bluesky", apis.TapeBlueskyApi.as_view(), name="tape-post"),
    path("me/bluesky", apis.MeBlueskyApi.as_view(), name="me"),
]
