from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from sites import services
from sites.models import Site


def actor_of(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) else None


class SiteForm(forms.ModelForm):
    class Meta:
        model = Site
        fields = list(services.EDITABLE_FIELDS)

    def clean_origin(self) -> str:
        # Normalised before the form's own checks (the unique origin) see it.
        return services.normalised_origin(str(self.cleaned_data.get("origin", "")))


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    """Saving here goes through the services: the origin is normalised and the buckets' CORS
    is re-applied after the commit (sites_changed)."""

    form = SiteForm
    list_display = [
        "name",
        "origin",
        "active",
        "guest_owner",
        "tapes_last_day",
        "tapes_per_day",
        "bytes_per_day",
        "posts_per_minute",
    ]
    list_filter = ["active"]
    search_fields = ["origin", "name"]
    autocomplete_fields = ["guest_owner"]
    readonly_fields = ["created_at", "updated_at"]
    fields = [*services.EDITABLE_FIELDS, "created_at", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Site]:
        since = timezone.now() - timedelta(days=1)
        return (
            super()
            .get_queryset(request)
            .select_related("guest_owner")
            .annotate(_tapes_last_day=Count("tapes", filter=Q(tapes__created_at__gt=since)))
        )

    @admin.display(description="tapes in 24 h", ordering="_tapes_last_day")
    def tapes_last_day(self, obj: Site) -> int:
        return int(getattr(obj, "_tapes_last_day", 0))

    def save_model(self, request: HttpRequest, obj: Site, form: Any, change: bool) -> None:
        fields: dict[str, Any] = {name: form.cleaned_data[name] for name in SiteForm.Meta.fields}
        if change:
            services.site_update(site=obj, actor=actor_of(request), **fields)
        else:
            created = services.site_create(actor=actor_of(request), **fields)
            obj.pk, obj.origin = created.pk, created.origin

    def delete_model(self, request: HttpRequest, obj: Site) -> None:
        services.site_delete(site=obj, actor=actor_of(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Site]) -> None:
        for site in queryset:
            services.site_delete(site=site, actor=actor_of(request))
