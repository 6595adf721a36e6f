from django.contrib import admin

from federation.models import AtprotoAccount, TapeFederation


@admin.register(AtprotoAccount)
class AtprotoAccountAdmin(admin.ModelAdmin):
    list_display = ["handle", "did", "user", "state", "logins", "refreshes", "provisioned"]
    search_fields = ["handle", "did", "user__username"]
    # The encrypted credentials are not shown, not even encrypted.
    exclude = ["app_password", "session"]
    readonly_fields = ["did", "handle", "pds_url", "logins", "refreshes", "linked_at"]


@admin.register(TapeFederation)
class TapeFederationAdmin(admin.ModelAdmin):
    list_display = ["tape", "state", "wanted", "code", "rkey", "attempts", "requeues", "updated_at"]
    list_filter = ["state", "wanted", "code"]
    readonly_fields = [
        "tape",
        "rkey",
        "stale_rkeys",
        "abandoned_rkeys",
        "did",
        "pds_url",
        "video_cid",
        "requeues",
        "requeue_after",
    ]
