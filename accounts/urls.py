from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("accounts/login/", views.login, name="login"),
    path("accounts/callback/", views.callback, name="callback"),
    path("accounts/logout/", views.logout, name="logout"),
    path("accounts/signup/", views.signup, name="signup"),
    path("me", views.me, name="me"),
    path("me/username", views.username_change, name="username"),
    path("me/tapes/<str:code>/retry", views.tape_retry, name="tape-retry"),
    path(
        "me/tapes/<str:code>/federation/retry",
        views.tape_federation_retry,
        name="tape-federation-retry",
    ),
]
