from django.urls import path

from accounts import apis

app_name = "accounts-api"

urlpatterns = [path("me", apis.MeApi.as_view(), name="me")]
