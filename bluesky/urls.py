"""The API of Bluesky posts (under /api/): ask for a tape's post, retry it, delete it."""

from django.urls import URLPattern

app_name = "bluesky"

urlpatterns: list[URLPattern] = []
