from django.urls import path

from accounts import apis

app_name = "accounts-api"

urlpatterns = [
    path("me", apis.MeApi.as_view(), name="me"),
    # Before tapes' own "tapes/<code>", which would otherwise take "claim" for a code.
    path("tapes/claim", apis.TapeClaimApi.as_view(), name="tape-claim"),
]
