from django.urls import path

from federation import apis

app_name = "federation"

urlpatterns = [
    path("me/atproto", apis.MeAtprotoApi.as_view(), name="me-atproto"),
    path(
        "tapes/<str:code>/federation",
        apis.TapeFederationRetryApi.as_view(),
        name="tape-federation-retry",
    ),
]
