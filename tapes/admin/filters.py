"""The tapes list's own filters (the stock ones cover status, nuked and date)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from federation.models import FederationState
from tapes.models import Tape


class KindFilter(admin.SimpleListFilter):
    title = "posted by"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("guest", "Guests"), ("user", "Signed-in users")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Tape]) -> QuerySet[Tape]:
        if self.value() == "guest":
            return queryset.filter(user__isnull=True)
        if self.value() == "user":
            return queryset.filter(user__isnull=False)
        return queryset


# Codes that ask staff to act, offered beside the states.
STAFF_CODES = {
    "record_delete_failed": "Record delete failed",
    "federation_stuck": "Stuck (requeued too often)",
    "record_delete_abandoned": "Record delete abandoned",
}


class FederationFilter(admin.SimpleListFilter):
    title = "federation"
    parameter_name = "federation"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        states = [(state.value, state.label) for state in FederationState]
        return [*states, *STAFF_CODES.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Tape]) -> QuerySet[Tape]:
        value = self.value()
        if value is None:
            return queryset
        if value in STAFF_CODES:
            return queryset.filter(federation__code=value)
        if value == FederationState.NONE:
            # A tape that never had a federation row (guests, unlinked owners) is "none" too.
            return queryset.filter(Q(federation__isnull=True) | Q(federation__state=value))
        return queryset.filter(federation__state=value)
