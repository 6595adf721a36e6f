"""HTTP API for tapes. Views parse input, call a service or selector, and render output."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.core.files.uploadhandler import (
    FileUploadHandler,
    StopUpload,
    TemporaryFileUploadHandler,
)
from django.http.response import HttpResponseBase
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import SignedIn, signed_in_user
from tapes import presenters, selectors, services
from tapes.files import tape_file_keys
from tapes.media import media_response
from tapes.permissions import TapeOwnerOrStaffCanDelete, TapeOwnerOrStaffCanRetry
from tapes.storage import upload_too_large
from tapesite.errors import TapesiteError
from tapesite.throttling import client_address


def _signed_in(request: Request) -> User | None:
    """The signed-in user, or None for a guest."""
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


def _not_found(code: str) -> TapesiteError:
    return TapesiteError("not_found", f"No tape has the code {code!r}.", status=404)


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


class TapeOutput(serializers.Serializer):
    code = serializers.CharField()
    slug = serializers.CharField()
    piece = serializers.CharField()
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
    at = serializers.DictField(allow_null=True)
    federation = serializers.DictField()
    url = serializers.CharField()


class TapePageOutput(serializers.Serializer):
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = TapeOutput(many=True)


class TapeUploadStartApi(APIView):
    throttle_scope = "tape_upload"

    class Input(serializers.Serializer):
        piece = serializers.CharField(
            required=False, allow_blank=True, allow_null=True, max_length=200
        )
        bytes = serializers.IntegerField(min_value=1)

    class Output(serializers.Serializer):
        slug = serializers.CharField()
        upload_token = serializers.CharField(
            help_text="Send it with the slug to POST /api/tapes; shown once."
        )
        upload = serializers.DictField()
        expires_at = serializers.DateTimeField()

    @extend_schema(request=Input, responses={201: Output}, summary="Start a tape upload")
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = services.tape_upload_start(
            user=_signed_in(request),
            piece=data.validated_data.get("piece"),
            size=data.validated_data["bytes"],
            base_url=request.build_absolute_uri("/"),
            # The rate limits' notion of a client (REMOTE_ADDR unless proxies are trusted).
            client=client_address(request),
        )
        form = ticket.form
        out = {
            "slug": ticket.upload.slug,
            "upload_token": ticket.token,
            "upload": {"url": form.url, "method": form.method, "fields": form.fields},
            "expires_at": form.expires_at,
        }
        return Response(self.Output(out).data, status=status.HTTP_201_CREATED)


class _DeclaredSizeMeter(FileUploadHandler):
    """Counts the file bytes of a form as they stream in, before any handler after it writes
    them, and stops reading the body the moment they pass the declared size: nothing past it
    is read into a buffer or written to a temporary file."""

    def __init__(self, limit: int, request: Any = None) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            # Not read to the end either: what is left of the body is never read.
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


# What a form adds around the file (boundaries, part headers, the key and the policy): a body
# longer than the declared size plus this is refused before reading a byte of it.
_FORM_FRAMING_BYTES = 16 * 1024


class LocalUploadApi(APIView):
    """The local-storage twin of an S3 presigned POST: the signed policy is the credential, so
    there is no session (and no CSRF token) involved, exactly as with S3. The policy comes in
    the URL, so the declared size bounds the body before it is read."""

    authentication_classes: list[Any] = []
    parser_classes = [MultiPartParser]
    throttle_scope = "tape_upload"

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        policy = services.tape_upload_local_policy(
            token=str(request.query_params.get("policy", ""))
        )
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > policy.max_bytes + _FORM_FRAMING_BYTES:
            raise upload_too_large(max_bytes=policy.max_bytes)
        meter = _DeclaredSizeMeter(policy.max_bytes, request._request)
        request._request.upload_handlers = [meter, TemporaryFileUploadHandler(request._request)]
        fields: Any = request.data
        if meter.exceeded:
            raise upload_too_large(max_bytes=policy.max_bytes)
        services.tape_upload_store_local(
            policy=policy,
            form_policy=fields.get("policy"),
            key=fields.get("key"),
            content_type=fields.get("Content-Type"),
            file=request.FILES.get("file"),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class TapeCollectionApi(APIView):
    class ListFilter(serializers.Serializer):
        owner = serializers.CharField(required=False, max_length=150)

    class CreateInput(serializers.Serializer):
        slug = serializers.CharField(max_length=100)
        upload_token = serializers.CharField(max_length=200)
        metadata = serializers.DictField(required=False, allow_empty=True)

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
            OpenApiParameter("owner", str, description="Only this user's tapes."),
            OpenApiParameter("cursor", str, description="The cursor from a previous page."),
            OpenApiParameter("limit", int, description="Page size, at most 100."),
        ],
        responses={200: TapePageOutput},
        summary="List tapes, newest first",
    )
    def get(self, request: Request) -> Response:
        filters = self.ListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = TapeCursorPagination()
        page = paginator.paginate_queryset(
            presenters.tapes_for_output(
                selectors.tape_list(owner=filters.validated_data.get("owner"))
            ),
            request,
            view=self,
        )
        items = [presenters.tape_public(tape, request=request) for tape in page or []]
        return paginator.get_paginated_response(TapeOutput(items, many=True).data)

    @extend_schema(request=CreateInput, responses={201: CreateOutput}, summary="Post a tape")
    def post(self, request: Request) -> Response:
        data = self.CreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        tape = services.tape_create(
            user=_signed_in(request),
            slug=data.validated_data["slug"],
            upload_token=data.validated_data["upload_token"],
            metadata=data.validated_data.get("metadata"),
        )
        out = {
            "code": tape.code,
            "slug": tape.slug,
            "status": tape.status,
            "url": presenters.tape_url(tape, request=request),
        }
        if tape.user_id is None:
            out["claim_token"] = services.claim_token_issue(tape=tape)
        return Response(self.CreateOutput(out).data, status=status.HTTP_201_CREATED)


class TapeDetailApi(APIView):
    # AllowAny stays listed: guests read, and the schema keeps saying that signing in is optional.
    permission_classes = [AllowAny, TapeOwnerOrStaffCanDelete]

    def get_throttles(self) -> list[Any]:
        self.throttle_scope = "tape_post" if self.request.method == "DELETE" else "tape_read"
        return super().get_throttles()

    @extend_schema(responses={200: TapeOutput}, summary="A tape by its code")
    def get(self, request: Request, code: str) -> Response:
        tape = presenters.tapes_for_output(selectors.tapes_with_code(code=code)).first()
        if tape is None:
            raise _not_found(code)
        return Response(TapeOutput(presenters.tape_public(tape, request=request)).data)

    @extend_schema(responses={204: None}, summary="Delete (nuke) a tape")
    def delete(self, request: Request, code: str) -> Response:
        tape = selectors.tape_get(code=code)
        if tape is None:
            raise _not_found(code)
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
            raise _not_found(code)
        self.check_object_permissions(request, tape)
        tape = services.tape_reencode(tape=tape, actor=cast(User, request.user))
        return Response(TapeOutput(presenters.tape_public(tape, request=request)).data)


class TapeMediaApi(APIView):
    """A tape's file, while the tape is public: a redirect to a short-lived S3 link, or the file
    itself from local storage (a byte range of it when asked, so videos seek). Never cached by
    shared caches, so a nuke takes effect at once here and within TAPES_MEDIA_URL_SECONDS for
    links already handed out."""

    throttle_scope = "tape_media"

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (206, "application/octet-stream"): OpenApiTypes.BINARY,
            302: OpenApiResponse(description="To a short-lived link of the file in storage."),
        },
        summary="A tape's file (zip, mp4, thumbnail, preview)",
    )
    def get(self, request: Request, code: str, name: str) -> HttpResponseBase:
        tape = selectors.tape_get(code=code)
        key = tape_file_keys(tape).get(name) if tape is not None else None
        if tape is None or not key:
            raise TapesiteError("not_found", "No such file for a public tape.", status=404)
        seconds = int(settings.TAPES_MEDIA_URL_SECONDS)
        cache_control = f"private, max-age={max(seconds // 2, 1)}"
        response = media_response(
            bucket=tape.bucket,
            key=key,
            name=name,
            expires=seconds,
            range_header=request.headers.get("Range"),
            if_range=request.headers.get("If-Range"),
        )
        response["Cache-Control"] = cache_control
        return response


class TapeClaimApi(APIView):
    permission_classes = [SignedIn]
    throttle_scope = "tape_claim"

    class Input(serializers.Serializer):
        tokens = serializers.ListField(
            child=serializers.CharField(max_length=200),
            min_length=1,
            max_length=services.MAX_TOKENS_PER_CLAIM,
        )

    class ResultOutput(serializers.Serializer):
        index = serializers.IntegerField()
        claimed = serializers.BooleanField()
        code = serializers.CharField(allow_null=True)
        error = serializers.DictField(allow_null=True)

    class Output(serializers.Serializer):
        claimed = serializers.ListField(child=serializers.CharField())
        results = serializers.ListField(child=serializers.DictField())

    @extend_schema(request=Input, responses={200: Output}, summary="Claim tapes posted as a guest")
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        outcomes = services.tapes_claim(
            user=signed_in_user(request), tokens=data.validated_data["tokens"]
        )
        results = [
            {
                "index": o.index,
                "claimed": o.claimed,
                "code": o.code,
                "error": o.error.as_dict() if o.error is not None else None,
            }
            for o in outcomes
        ]
        out = {
            "claimed": [o.code for o in outcomes if o.claimed and o.code],
            "results": self.ResultOutput(results, many=True).data,
        }
        return Response(self.Output(out).data)
