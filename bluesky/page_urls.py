"""The Bluesky forms of the pages (the tape page's box, /me's choice)."""

from django.urls import path

from bluesky import views

app_name = "bluesky_pages"

urlpatterns = [
    path("me/bluesky", views.preferences, name="preferences"),
    path("me/tapes/<str:code>/bluesky", views.tape_post, name="tape-post"),
    path("me/tapes/<str:code>/bluesky/delete", views.tape_post_delete, name="tape-post-delete"),
]
