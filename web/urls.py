from django.urls import path, re_path

from web import crawlers, embeds, feeds, owner, views

app_name = "web"

urlpatterns = [
    path("", views.recorder, name="recorder"),
    path("glow", views.glow, name="glow"),
    path("tapes", views.gallery, name="gallery"),
    path("t/<str:code>", views.tape, name="tape"),
    path("t/<str:code>/embed", embeds.tape_embed, name="tape-embed"),
    path("oembed", embeds.oembed, name="oembed"),
    path("t/<str:code>/edit", owner.tape_edit, name="tape-edit"),
    path("t/<str:code>/delete", owner.tape_delete, name="tape-delete"),
    path("t/<str:code>/restore", owner.tape_restore, name="tape-restore"),
    path("u/<str:username>", views.user_tapes, name="user"),
    path("go", views.go, name="go"),
    # A guest's claim link from another site's page (the token in the fragment).
    path("claim", views.claim, name="claim"),
    # Feeds, sitemap, robots.txt (web/feeds.py, web/crawlers.py; docs/feeds.md).
    path("tapes/feed.atom", feeds.site_feed, name="feed"),
    path("u/<str:username>/feed.atom", feeds.user_feed, name="user-feed"),
    path("sitemap.xml", crawlers.sitemap_index, name="sitemap"),
    path("sitemap-<slug:section>.xml", crawlers.sitemap_section, name="sitemap-section"),
    path("robots.txt", crawlers.robots_txt, name="robots"),
    # End of feeds.
    # /!xyz and /%23xyz (the URL-encoded "#xyz"; a bare "#" never reaches the server).
    re_path(r"^[!#](?P<code>[A-Za-z0-9]{1,16})/?$", views.tape_short, name="tape-short"),
]
