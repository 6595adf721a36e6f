from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("api/", include("accounts.api_urls")),
    path("api/", include("tapes.urls")),
    path("api/", include("federation.urls")),
    path("", include("federation.page_urls")),
    path("api/", include("bluesky.urls")),
    path("", include("bluesky.feed_urls")),
    path("", include("bluesky.page_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its script as a file (?script): no inline script under the CSP.
    path(
        "api/schema/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api_docs.html"),
        name="schema-docs",
    ),
    path("django-rq/", include("django_rq.urls")),
    path("", include("ops.urls")),
]
# An /api/ path that Django answers itself (unknown path, bad host, a crash) gets JSON in the
# error shape, not an HTML page.
handler400 = "tapesite.api.bad_request_handler"
handler404 = "tapesite.api.not_found_handler"
handler500 = "tapesite.api.server_error_handler"
# Elsewhere the 404 is Django's page_not_found, rendering templates/404.html (web's friendly page).


# No blanket /media/ route: tape files are served by /api/tapes/<code>/media/<name>, which checks
# that the tape is posted and public (unposted uploads and nuked tapes are not served).

# The pages last: their short forms (/!xyz) must not shadow anything above.
urlpatterns += [path("", include("web.urls"))]
