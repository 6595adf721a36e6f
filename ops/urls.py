from django.urls import path

from ops import views

app_name = "ops"

urlpatterns = [
    # The probes are answered by ops.middleware.ProbeMiddleware; these routes name them and
    # serve them should the middleware be left out of a deployment.
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics_view, name="metrics"),
]
