"""The site as an AT Protocol feed generator: its did:web document and the app.bsky.feed.*
XRPC methods Bluesky's AppView calls (at the site's root, where the AppView looks for them)."""

from django.urls import URLPattern

app_name = "bluesky-feed"

urlpatterns: list[URLPattern] = []
