from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from accounts.models import User
from audit.selectors import audit_entries_for
from federation.models import FederationState
from federation.selectors import tape_at_record, tape_federation
from federation.services.records import COLLECTION
from tapes.admin.filters import FederationFilter, KindFilter
from tapes.admin.moderation import (
    MODERATIONS,
    ModerationViews,
)
from tapes.admin.pagination import EstimatedCountPaginator
from tapes.files import TAPE_FILES, tape_file_keys
from tapes.media import media_response
from tapes.models import Tape
from tapes.policy import TapeAction, staff_may
from tapesite.errors import TapesiteError


def _media_url(tape: Tape, name: str) -> str:
    # Staff see a nuked tape's files too, so not the public endpoint (it 404s once nuked).
    return reverse("admin:tapes_tape_media", args=[tape.pk, name])


def _action(name: str) -> Any:
    moderation = MODERATIONS[name]

    @admin.action(
        description=f"{moderation.label} selected tapes…", permissions=[moderation.permission]
    )
    def act(modeladmin: TapeAdmin, request: HttpRequest, queryset: QuerySet[Tape]) -> Any:
        return modeladmin.moderate_selected(request, queryset, moderation)

    act.__name__ = name
    return act


@admin.register(Tape)
class TapeAdmin(ModerationViews):
    """Tapes change only through the tapes services: every field is read-only here, and the
    actions (nuke, un-nuke, retries) ask for a reason and are audited."""

    list_display = ["thumbnail", "code", "owner", "when", "status", "federation_state", "nuked"]
    list_display_links = ["code"]
    list_filter = [
        "status",
        FederationFilter,
        "nuked",
        KindFilter,
        ("when", admin.DateFieldListFilter),
        # Registered sites are few: the filter lists them all (no scan of the tapes).
        "site",
    ]
    search_fields = ["code"]  # see get_search_results
    search_help_text = "A code (with or without !), the start of a slug, or an owner's username."
    list_select_related = ["user", "federation"]
    list_per_page = 50
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    ordering = ["-when", "-id"]
    actions = [_action(name) for name in MODERATIONS]
    readonly_fields = [
        "code",
        "slug",
        "owner",
        "when",
        "status",
        "progress",
        "failure",
        "attempts",
        "status_changed_at",
        "nuked",
        "nuked_at",
        "files_purged_at",
        "video",
        "thumbnail_large",
        "media_files",
        "federation_state",
        "federation_detail",
        "at_record",
        "metadata_pretty",
        "history",
        "site",
        "origin",
        "piece_url",
        "source",
        "seed",
    ]
    fieldsets = [
        (None, {"fields": ["code", "slug", "owner", "when", "video", "thumbnail_large"]}),
        (
            "Pipeline",
            {"fields": ["status", "progress", "failure", "attempts", "status_changed_at"]},
        ),
        ("Moderation", {"fields": ["nuked", "nuked_at", "files_purged_at", "history"]}),
        ("Federation", {"fields": ["federation_state", "federation_detail", "at_record"]}),
        ("Files and metadata", {"fields": ["media_files", "metadata_pretty"]}),
        # Where it was recorded, when posted from a registered site's page (the page's say).
        ("Provenance", {"fields": ["site", "origin", "piece_url", "source", "seed"]}),
    ]

    # --- permissions: read-only rows; actions by permission ------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # nuking is the only deletion, and it is soft

    def has_nuke_permission(self, request: HttpRequest) -> bool:
        return staff_may(actor=request.user, action=TapeAction.DELETE)

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return staff_may(actor=request.user, action=TapeAction.RETRY_ENCODE)

    # --- list ------------------------------------------------------------------------------------

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Tape], search_term: str
    ) -> tuple[QuerySet[Tape], bool]:
        """Every branch is an indexed lookup: the exact (case-sensitive) code, a slug prefix,
        or an owner's username. They are combined as a UNION of ids, not an OR: PostgreSQL
        cannot use three indexes for one OR across a join, and would read every tape. Each branch
        drops the model's ordering: SQLite refuses ORDER BY inside a compound statement."""
        term = search_term.strip()
        if not term:
            return queryset, False
        owners = User.objects.filter(username__iexact=term).values("pk")
        ids = (
            Tape.objects.filter(code=term.removeprefix("!"))
            .order_by()
            .values("pk")
            .union(
                Tape.objects.filter(slug__startswith=term).order_by().values("pk"),
                Tape.objects.filter(user__in=owners).order_by().values("pk"),
            )
        )
        return queryset.filter(pk__in=ids), False

    @admin.display(description="")
    def thumbnail(self, tape: Tape) -> SafeString | str:
        if not tape.thumbnail_key:
            return ""
        return format_html(
            '<img src="{}" alt="" width="64" loading="lazy">', _media_url(tape, "thumbnail")
        )

    @admin.display(description="owner", ordering="user__username")
    def owner(self, tape: Tape) -> SafeString | str:
        """The owner in the admin, and their public page: what the world sees of them."""
        if tape.user is None:
            return "guest"
        user_admin = reverse("admin:accounts_user_change", args=[tape.user.pk])
        try:
            public = reverse("web:user", kwargs={"username": tape.user.username})
        except NoReverseMatch:  # a site without the pages
            return format_html('<a href="{}">{}</a>', user_admin, tape.user.username)
        return format_html(
            '<a href="{}">{}</a> (<a class="owner-page" href="{}">{}</a>)',
            user_admin,
            tape.user.username,
            public,
            public,
        )

    @admin.display(description="federation", ordering="federation__state")
    def federation_state(self, tape: Tape) -> str:
        fed = tape_federation(tape)
        if fed is None:
            return FederationState.NONE.value
        return f"{fed.state} ({fed.code})" if fed.code else fed.state

    # --- detail ----------------------------------------------------------------------------------

    @admin.display(description="federation detail")
    def federation_detail(self, tape: Tape) -> SafeString | str:
        """What staff need to act on a record: the detail behind the code (users see a fixed
        text per code), the records still to delete and those given up on."""
        fed = tape_federation(tape)
        if fed is None:
            return "-"
        rows = [
            ("wanted", "yes" if fed.wanted else "no (the record is to be deleted)"),
            ("detail", fed.message or "-"),
            ("attempts", f"{fed.attempts} (requeued by reconcile {fed.requeues} times)"),
            ("records to delete", ", ".join(fed.stale_rkeys) or "-"),
            ("records abandoned on the PDS", ", ".join(fed.abandoned_rkeys) or "-"),
        ]
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
        )

    @admin.display(description="failure")
    def failure(self, tape: Tape) -> str:
        return f"{tape.failure_code}: {tape.failure_message}" if tape.failure_code else "-"

    @admin.display(description="MP4")
    def video(self, tape: Tape) -> SafeString | str:
        if not tape.mp4_key:
            return "-"
        # The thumbnail shows before the video loads (preload only fetches its first bytes).
        poster = _media_url(tape, "thumbnail") if tape.thumbnail_key else ""
        return format_html(
            # Styled by static/tapes-admin.css: the site's CSP allows no inline style.
            '<video class="tape-admin-video" controls preload="metadata" src="{}"{}></video>',
            _media_url(tape, "mp4"),
            format_html(' poster="{}"', poster) if poster else "",
        )

    @admin.display(description="thumbnail")
    def thumbnail_large(self, tape: Tape) -> SafeString | str:
        if not tape.thumbnail_key:
            return "-"
        return format_html('<img src="{}" alt="" width="160">', _media_url(tape, "thumbnail"))

    @admin.display(description="stored files")
    def media_files(self, tape: Tape) -> SafeString:
        rows = [
            (file.name, key, size if size is not None else "?")
            for file in TAPE_FILES
            if (key := getattr(tape, file.key_field))
            for size in [getattr(tape, file.bytes_field)]
        ]
        return format_html(
            "<table>{}</table><p>bucket {}</p>",
            format_html_join(
                "",
                '<tr><td><a href="{}">{}</a></td><td><code>{}</code></td><td>{} B</td></tr>',
                [(_media_url(tape, name), name, key, size) for name, key, size in rows],
            ),
            tape.bucket,
        )

    @admin.display(description="AT Protocol record")
    def at_record(self, tape: Tape) -> SafeString | str:
        at: dict[str, str] = tape_at_record(tape) or {}
        fed = tape_federation(tape)
        did = fed.did if fed is not None else ""
        rkey = str(at.get("rkey") or (fed.rkey if fed is not None else ""))
        uri = str(at.get("uri") or (f"at://{did}/{COLLECTION}/{rkey}" if did and rkey else ""))
        if not uri:
            return "-"
        if fed is None or not (fed.pds_url and did and rkey):
            return format_html("<code>{}</code><br>cid <code>{}</code>", uri, at.get("cid", ""))
        # The record as its PDS serves it: a plain XRPC read anyone can open.
        link = f"{fed.pds_url.rstrip('/')}/xrpc/com.atproto.repo.getRecord?" + urlencode(
            {"repo": did, "collection": COLLECTION, "rkey": rkey}
        )
        return format_html(
            '<a href="{}" rel="noopener" target="_blank"><code>{}</code></a>'
            "<br>cid <code>{}</code>",
            link,
            uri,
            at.get("cid", ""),
        )

    @admin.display(description="metadata")
    def metadata_pretty(self, tape: Tape) -> SafeString:
        facts = {
            "piece": tape.piece,
            "frames": tape.frames,
            "duration_ms": tape.duration_ms,
            "size": f"{tape.width}x{tape.height} at {tape.scale}x" if tape.width else None,
            "discrepancies": tape.discrepancies,
            "client metadata": tape.metadata,
        }
        return format_html("<pre>{}</pre>", json.dumps(facts, indent=2, default=str))

    @admin.display(description="action history")
    def history(self, tape: Tape) -> SafeString | str:
        entries = list(audit_entries_for(target=tape)[:50])
        if not entries:
            return "no actions yet"
        rows = [
            (
                f"{entry.created_at:%Y-%m-%d %H:%M:%S}",
                entry.actor_name or "system",
                entry.get_action_display(),
                entry.reason or "-",
            )
            for entry in entries
        ]
        return format_html(
            "<table><tr><th>when</th><th>who</th><th>what</th><th>why</th></tr>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        tape = self.get_object(request, object_id)
        # Only what the person may do and what applies to the tape as it stands.
        allowed = [
            (moderation, reverse("admin:tapes_tape_moderate", args=[object_id, moderation.name]))
            for moderation in MODERATIONS.values()
            if getattr(self, f"has_{moderation.permission}_permission")(request)
            and tape is not None
            and moderation.applies(tape)
        ]
        context = {**(extra_context or {}), "moderations": allowed}
        return super().change_view(request, object_id, form_url, extra_context=context)

    # --- moderation ------------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        moderate = self.admin_site.admin_view(self.moderate_one)
        media = self.admin_site.admin_view(self.media_one)
        return [
            path("<path:object_id>/moderate/<str:name>/", moderate, name="tapes_tape_moderate"),
            path("<path:object_id>/media/<str:name>/", media, name="tapes_tape_media"),
            *super().get_urls(),
        ]

    def media_one(self, request: HttpRequest, object_id: str, name: str) -> HttpResponseBase:
        """A tape's file for staff who may view tapes, nuked or not (until purged)."""
        if not self.has_view_permission(request):
            return HttpResponse("You may not do this.", status=403)
        tape = get_object_or_404(Tape, pk=object_id)
        key = tape_file_keys(tape).get(name)
        if not key:
            raise Http404("No such file for this tape.")
        try:
            return media_response(
                bucket=tape.bucket,
                key=key,
                name=name,
                expires=300,
                range_header=request.headers.get("Range"),
                if_range=request.headers.get("If-Range"),
            )
        except TapesiteError as exc:
            raise Http404(exc.message) from exc
