from django.urls import path, re_path

from web import embeds, owner, views

app_name = "web"

urlpatterns = [
    path("", views.recorder, name="recorder"),
    path("tapes", views.gallery, name="gallery"),
    path("t/<str:code>", views.tape, name="tape"),
    path("t/<str:code>/embed", embeds.tape_embed, name="tape-embed"),
    path("oembed", embeds.oembed, name="oembed"),
    path("t/<str:code>/edit", owner.tape_edit, name="tape-edit"),
    path("t/<str:code>/delete", owner.tape_delete, name="tape-delete"),
    path("t/<str:code>/restore", owner.tape_restore, name="tape-restore"),
    path("u/<str:username>", views.user_tapes, name="user"),
    path("go", views.go, name="go"),
    # /!xyz and /%23xyz (the URL-encoded "#xyz"; a bare "#" never reaches the server).
    re_path(r"^[!#](?P<code>[A-Za-z0-9]{1,16})/?$", views.tape_short, name="tape-short"),
]
