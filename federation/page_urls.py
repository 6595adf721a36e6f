from django.urls import path

from federation import views

app_name = "federation_pages"

urlpatterns = [
    path("me/atproto/", views.atproto_page, name="page"),
    path("at/<str:did>/<str:collection>/<str:rkey>", views.record_page, name="record"),
    path(
        "at/<str:did>/<str:collection>/<str:rkey>/blob/<str:field>",
        views.record_blob,
        name="record-blob",
    ),
]
