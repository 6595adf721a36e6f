"""Claimed tapes' file moves (``tapes.services.relocate``): what is pending, what failed and
why, and a retry for the failed ones. Read-only otherwise: moves change only through the service."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from tapes import services
from tapes.models import RelocationState, TapeRelocation


@admin.register(TapeRelocation)
class TapeRelocationAdmin(admin.ModelAdmin):
    list_display = ["tape", "state", "attempts", "failure_code", "moved_at", "updated_at"]
    list_filter = ["state"]
    list_select_related = ["tape"]
    search_fields = ["tape__code"]
    ordering = ["-updated_at"]
    actions = ["retry"]
    readonly_fields = [
        "tape",
        "state",
        "attempts",
        "failure_code",
        "failure_message",
        "moved_at",
        "old_bucket",
        "old_keys",
        "originals_deleted_at",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("tapes.view_tape")

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tapes.change_tape")

    @admin.action(description="Retry the selected failed moves", permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[TapeRelocation]) -> None:
        failed = queryset.filter(state=RelocationState.FAILED).select_related("tape")
        count = 0
        for relocation in failed:
            services.tape_relocation_retry(tape=relocation.tape)
            count += 1
        self.message_user(request, f"{count} moves queued again.", messages.SUCCESS)
