"""The site as an AT Protocol feed generator: its did:web document and the app.bsky.feed.*
XRPC methods Bluesky's AppView calls (at the site's root, where the AppView looks for them)."""

from django.urls import URLPattern, path

from bluesky import feed_views

app_name = "bluesky-feed"

urlpatterns: list[URLPattern] = [
    path(".well-known/did.json", feed_views.did_document, name="did-document"),
    path(
        "xrpc/app.bsky.feed.describeFeedGenerator",
        feed_views.describe_feed_generator,
        name="describe-feed-generator",
    ),
    path(
        "xrpc/app.bsky.feed.getFeedSkeleton",
        feed_views.get_feed_skeleton,
        name="get-feed-skeleton",
    ),
]
