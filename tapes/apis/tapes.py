"""HTTP API for tapes. Views parse input, call a service or selector, and render output."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.http.response import HttpResponseBase
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from sites.cors import request_site
from sites.throttling import SiteRateThrottle
from tapes import caching, presenters, selectors, services
from tapes.apis.common import claim_token, signed_in_or_guest, tape_not_found
from tapes.files import tape_file_keys
from tapes.media import media_response
from tapes.models import PIECE_URL_MAX, SEED_MAX, SOURCE_MAX, Tape, TapeVisibility
from tapes.permissions import TapeOwnerOrStaffCanChange, TapeOwnerOrStaffCanRetry
from tapesite.errors import TapesiteError
from tapesite.throttling import ScopedRateThrottle


class TapeCursorPagination(CursorPagination):
    ordering = ("-when", "-id")
    page_size = 20
    page_size_query_param = "limit"
    max_page_size = 100

    def decode_cursor(self, request: Request) -> Any:
        try:
            cursor = super().decode_cursor(request)
        except Exception as exc:  # DRF raises NotFound; an invalid cursor is the client's error
            raise _cursor_invalid() from exc
        # DRF trusts the position it decoded; a hand-made one must still be a time we wrote.
        position = getattr(cursor, "position", None)
        if position is not None and not _is_time(position):
            raise _cursor_invalid()
        return cursor


def _is_time(text: str) -> bool:
    if "\x00" in text or len(text) > 64:
        return False
    try:
        return parse_datetime(text) is not None
    except ValueError:  # well formed, impossible: month 13
        return False


def _cursor_invalid() -> TapesiteError:
    return TapesiteError("cursor_invalid", "The cursor is not valid.")


class ProvenanceOutput(serializers.Serializer):
    site = serializers.DictField(allow_null=True, help_text="{name, origin}; null once removed")
    origin = serializers.CharField(allow_null=True)
    piece_url = serializers.CharField(allow_null=True)
    # Declared like ProvenanceInput's: DRF's metaclass takes it out of the class.
    source = serializers.CharField(allow_null=True)  # type: ignore[assignment]
    seed = serializers.CharField(allow_null=True)


class TapeOutput(serializers.Serializer):
    code = serializers.CharField()
    slug = serializers.CharField()
    piece = serializers.CharField()
    title = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)
    alt_text = serializers.CharField(allow_blank=True)
    visibility = serializers.ChoiceField(choices=TapeVisibility.values)
    when = serializers.DateTimeField()
    owner = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    progress = serializers.IntegerField()
    failure = serializers.DictField(allow_null=True)
    frames = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    media = serializers.DictField()
    provenance = ProvenanceOutput(allow_null=True)
    at = serializers.DictField(allow_null=True)
    federation = serializers.DictField()
    url = serializers.CharField()


class TapePageOutput(serializers.Serializer):
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = TapeOutput(many=True)


class ProvenanceInput(serializers.Serializer):
    piece_url = serializers.URLField(
        required=False, allow_blank=True, max_length=PIECE_URL_MAX, help_text="http(s) only"
    )
    # A declared field named like Field.source: DRF's metaclass takes it out of the class.
    source = serializers.CharField(  # type: ignore[assignment]
        required=False, allow_blank=True, max_length=SOURCE_MAX
    )
    seed = serializers.CharField(required=False, allow_blank=True, max_length=SEED_MAX)

    def validate_piece_url(self, value: str) -> str:
        if value and not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("The piece's URL must be http or https.")
        return value


class TapeCollectionApi(APIView):
    # Per client, then per registered site (its pages' clients together) for posts.
    throttle_classes = [ScopedRateThrottle, SiteRateThrottle]
    site_throttle_scope = "post"

    class ListFilter(serializers.Serializer):
        owner = serializers.CharField(required=False, max_length=150)

    class CreateInput(serializers.Serializer):
        slug = serializers.CharField(max_length=100)
        upload_token = serializers.CharField(max_length=200)
        metadata = serializers.DictField(required=False, allow_empty=True)
        # Where the tape was recorded, as the page says; the site itself comes from Origin.
        provenance = ProvenanceInput(required=False, allow_null=True)

    class CreateOutput(serializers.Serializer):
        code = serializers.CharField()
        slug = serializers.CharField()
        status = serializers.CharField()
        url = serializers.CharField()
        # Guests only, shown once: the browser keeps it to claim the tape after signing in.
        claim_token = serializers.CharField(required=False)

    def get_throttles(self) -> list[Any]:
        self.throttle_scope = "tape_post" if self.request.method == "POST" else "tape_read"
        return super().get_throttles()

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "owner",
                str,
                description="Only this user's tapes (their unlisted ones too, for themselves).",
            ),
            OpenApiParameter("cursor", str, description="The cursor from a previous page."),
            OpenApiParameter("limit", int, description="Page size, at most 100."),
        ],
        responses={200: TapePageOutput},
        summary="List public tapes, newest first",
    )
    def get(self, request: Request) -> Response:
        filters = self.ListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = TapeCursorPagination()
        page = paginator.paginate_queryset(
            presenters.tapes_for_output(
                selectors.tape_list(
                    owner=filters.validated_data.get("owner"), viewer=signed_in_or_guest(request)
                )
            ),
            request,
            view=self,
        )
        items = [presenters.tape_public(tape, request=request) for tape in page or []]
        return paginator.get_paginated_response(TapeOutput(items, many=True).data)

    @extend_schema(
        request=CreateInput,
        responses={201: CreateOutput, 200: CreateOutput},
        summary="Post a tape",
    )
    def post(self, request: Request) -> Response:
        data = self.CreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        provenance = data.validated_data.get("provenance") or {}
        posted = services.tape_post(
            user=signed_in_or_guest(request),
            slug=data.validated_data["slug"],
            upload_token=data.validated_data["upload_token"],
            metadata=data.validated_data.get("metadata"),
            site=request_site(request),
            piece_url=provenance.get("piece_url", ""),
            source=provenance.get("source", ""),
            seed=provenance.get("seed", ""),
        )
        tape = posted.tape
        out = {
            "code": tape.code,
            "slug": tape.slug,
            "status": tape.status,
            "url": presenters.tape_url(tape, request=request),
        }
        if posted.claim_token is not None:
            out["claim_token"] = posted.claim_token
        answer = status.HTTP_201_CREATED if posted.created else status.HTTP_200_OK
        return Response(self.CreateOutput(out).data, status=answer)


class TapeDetailApi(APIView):
    # AllowAny stays listed: guests read, and the schema keeps saying that signing in is optional.
    permission_classes = [AllowAny, TapeOwnerOrStaffCanChange]

    def get_throttles(self) -> list[Any]:
        self.throttle_scope = "tape_read" if self.request.method == "GET" else "tape_post"
        return super().get_throttles()

    # The tape a GET read, for the caching headers (tapes.caching); None for an error.
    read_tape: Tape | None = None

    @extend_schema(responses={200: TapeOutput, 304: None}, summary="A tape by its code")
    def get(self, request: Request, code: str) -> Response:
        tape = presenters.tapes_for_output(selectors.tapes_with_code(code=code)).first()
        if tape is None:
            raise tape_not_found(code)
        self.read_tape = tape
        return Response(TapeOutput(presenters.tape_public(tape, request=request)).data)

    # A 304 is Django's HttpResponseNotModified, not a DRF Response: Django's handler takes both.
    def finalize_response(  # type: ignore[override]
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method not in ("GET", "HEAD"):
            return response
        # Rendered here rather than by Django's handler: the ETag is the body's digest.
        if isinstance(response, Response):
            response.render()
        return caching.tape_read_response(request, response, tape=self.read_tape)

    class EditInput(serializers.Serializer):
        # Lengths are the model's; the service cleans the text and says what is too long.
        title = serializers.CharField(required=False, allow_blank=True, max_length=2000)
        description = serializers.CharField(required=False, allow_blank=True, max_length=20000)
        alt_text = serializers.CharField(required=False, allow_blank=True, max_length=20000)
        visibility = serializers.ChoiceField(choices=TapeVisibility.values, required=False)

    @extend_schema(
        request=EditInput,
        responses={200: TapeOutput},
        summary="Edit a tape's title, description, alt text or visibility (its owner)",
    )
    def patch(self, request: Request, code: str) -> Response:
        data = self.EditInput(data=request.data)
        data.is_valid(raise_exception=True)
        tape = selectors.tape_get(code=code)
        if tape is None:
            raise tape_not_found(code)
        self.check_object_permissions(request, tape)
        tape = services.tape_edit(tape=tape, actor=cast(User, request.user), **data.validated_data)
        tape = presenters.tapes_for_output(selectors.tapes_with_code(code=code)).get()
        return Response(TapeOutput(presenters.tape_public(tape, request=request)).data)

    @extend_schema(
        responses={204: None},
        summary="Delete (nuke) a tape: its owner (undo with POST …/restore), a moderator, or the "
        "guest who posted it (X-Claim-Token header)",
    )
    def delete(self, request: Request, code: str) -> Response:
        tape = selectors.tape_get(code=code)
        if tape is None:
            raise tape_not_found(code)
        token = claim_token(request)
        if token and not request.user.is_authenticated:
            services.tape_delete_as_guest(tape=tape, claim_token=token)
            return Response(status=status.HTTP_204_NO_CONTENT)
        self.check_object_permissions(request, tape)
        # The permission class let only a signed-in owner or staff this far.
        services.tape_nuke(tape=tape, actor=cast(User, request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TapeRetryApi(APIView):
    permission_classes = [TapeOwnerOrStaffCanRetry]
    throttle_scope = "tape_post"

    @extend_schema(request=None, responses={200: TapeOutput}, summary="Retry a failed tape's video")
    def post(self, request: Request, code: str) -> Response:
        tape = selectors.tape_get(code=code)
        if tape is None:
            raise tape_not_found(code)
        self.check_object_permissions(request, tape)
        tape = services.tape_reencode(tape=tape, actor=cast(User, request.user))
        return Response(TapeOutput(presenters.tape_public(tape, request=request)).data)


class TapeMediaApi(APIView):
    """A tape's file, while the tape is public: a redirect to a short-lived S3 link, or the file
    itself from local storage (a byte range of it when asked, so videos seek). A ready public
    tape's answer may be kept by shared caches (tapes.caching): the file for
    TAPES_SHARED_CACHE_SECONDS in all, a redirect for no more than half its link's life, so a
    followed link still works. Any other tape's is never stored. Either way a nuke takes its
    media down within a minute: cached answers age out, links already handed out expire after
    TAPES_MEDIA_URL_SECONDS."""

    throttle_scope = "tape_media"

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (206, "application/octet-stream"): OpenApiTypes.BINARY,
            302: OpenApiResponse(description="To a short-lived link of the file in storage."),
            304: OpenApiResponse(description="The client's copy (If-None-Match) is current."),
        },
        summary="A tape's file (zip, mp4, thumbnail, preview)",
    )
    def get(self, request: Request, code: str, name: str) -> HttpResponseBase:
        tape = selectors.tape_get(code=code)
        key = tape_file_keys(tape).get(name) if tape is not None else None
        if tape is None or not key:
            raise TapesiteError("not_found", "No such file for a public tape.", status=404)
        seconds = int(settings.TAPES_MEDIA_URL_SECONDS)
        response = media_response(
            bucket=tape.bucket,
            key=key,
            name=name,
            expires=seconds,
            range_header=request.headers.get("Range"),
            if_range=request.headers.get("If-Range"),
            if_none_match=request.headers.get("If-None-Match"),
            if_modified_since=request.headers.get("If-Modified-Since"),
        )
        if not caching.tape_is_shareable(tape):
            response["Cache-Control"] = caching.NEVER_STORED
        elif response.status_code in (301, 302, 303, 307, 308):
            # Cached no longer than half the link's life: whoever follows it still gets the file.
            lifetime = min(caching.shared_cache_seconds(), seconds // 2)
            response["Cache-Control"] = caching.shared_cache_control(lifetime)
        elif response.status_code in (200, 206, 304):
            # The same file for everyone who may see it (no Vary): who asks does not matter.
            response["Cache-Control"] = caching.shared_cache_control()
        else:
            response["Cache-Control"] = caching.NEVER_STORED
        return response

    def finalize_response(  # type: ignore[override]
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)
        # Refusals (no such file, throttled) are never kept: the next answer may differ.
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = caching.NEVER_STORED
        return response
