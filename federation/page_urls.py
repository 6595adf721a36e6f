from django.urls import path

from federation import views

app_name = "federation_pages"

urlpatterns = [path("me/atproto/", views.atproto_page, name="page")]
