from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import include, path, re_path
from django.views.generic import TemplateView
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("admin/", admin.site.urls),
    path("api/", include("tapes.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/schema/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="schema-docs"),
    path("django-rq/", include("django_rq.urls")),
]


def serve_media(request: HttpRequest, path: str) -> HttpResponseBase:
    # MEDIA_ROOT is read per request so a changed setting (tests, a moved folder) takes effect.
    return serve(request, path, document_root=str(settings.MEDIA_ROOT))


if settings.TAPES_STORAGE == "local":
    # Local files are the embedded default; a site on S3 serves media from the bucket instead.
    urlpatterns += [
        re_path(r"^media/(?P<path>.*)$", serve_media),
    ]
