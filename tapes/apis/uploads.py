"""The upload doors: a slot with its presigned form, and the local-storage twin of S3's form."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadhandler import (
    FileUploadHandler,
    StopUpload,
    TemporaryFileUploadHandler,
)
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sites.cors import request_site
from sites.throttling import SiteRateThrottle
from tapes import services
from tapes.apis.common import signed_in_or_guest
from tapes.storage import upload_too_large
from tapesite.throttling import ScopedRateThrottle, client_address


class TapeUploadStartApi(APIView):
    throttle_scope = "tape_upload"
    # Per client, then per registered site (its pages' clients together).
    throttle_classes = [ScopedRateThrottle, SiteRateThrottle]
    site_throttle_scope = "upload"

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
            user=signed_in_or_guest(request),
            piece=data.validated_data.get("piece"),
            size=data.validated_data["bytes"],
            base_url=request.build_absolute_uri("/"),
            # The rate limits' notion of a client (REMOTE_ADDR unless proxies are trusted).
            client=client_address(request),
            site=request_site(request),
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
