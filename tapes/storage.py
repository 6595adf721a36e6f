"""Where a tape's files live, and the upload policy that lets a browser put its ZIP there.

One client protocol for both backends: the browser gets ``{url, method: "POST", fields}`` and
sends a multipart form of the fields plus ``file``. For S3 that is a presigned POST policy that
the storage service enforces itself; for local files it is an equivalent signed policy that our
own endpoint (``tapes.apis.uploads.LocalUploadApi``) enforces before it writes anything.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.files.storage import Storage, storages
from django.urls import reverse
from django.utils import timezone

from tapesite.errors import TapesiteError

ZIP_CONTENT_TYPE = "application/zip"
_POLICY_SALT = "tapes.local-upload-policy"


@dataclass(frozen=True)
class UploadForm:
    url: str
    fields: dict[str, str]
    expires_at: datetime
    method: str = "POST"


@dataclass(frozen=True)
class LocalPolicy:
    bucket: str
    key: str
    max_bytes: int
    content_type: str
    expires_at: datetime


def upload_too_large(*, max_bytes: int, size: int | None = None) -> TapesiteError:
    """The one refusal of an over-limit upload, wherever it is caught (asked, sent, stored)."""
    said = f"; this one is {size}" if size is not None else ""
    return TapesiteError(
        "upload_too_large",
        f"A tape may be at most {max_bytes} bytes{said}.",
        details={"max_bytes": max_bytes, **({"bytes": size} if size is not None else {})},
    )


def bucket_for(*, user_id: int | None) -> str:
    return settings.TAPES_USER_BUCKET if user_id else settings.TAPES_GUEST_BUCKET


def storage_for(bucket: str) -> Storage:
    try:
        alias = settings.TAPES_BUCKET_STORAGES[bucket]
    except KeyError:
        raise TapesiteError(
            "storage_unknown_bucket", f"No storage is configured for bucket {bucket!r}.", status=500
        ) from None
    return storages[alias]


def zip_key(*, user_id: int | None, slug: str) -> str:
    # Per-user prefix in the user bucket keeps one owner's files together (and lets a site grant
    # or purge per user); guests share the root of their own bucket, as in the original design.
    return f"users/{user_id}/{slug}.zip" if user_id else f"{slug}.zip"


# Upload forms are only ever signed for keys under this prefix. A posted tape's files live outside
# it, so no form, replayed or not, can write them.
UPLOAD_PREFIX = "uploads/"


def upload_key(*, user_id: int | None, slug: str) -> str:
    """Where the browser's form puts the ZIP before posting (the only keys forms may write)."""
    return UPLOAD_PREFIX + zip_key(user_id=user_id, slug=slug)


def storage_copy(*, bucket: str, source: str, target: str) -> int:
    """Copy ``source`` to ``target`` inside one bucket and return the size of the copy, as the
    storage reports it. A missing source raises FileNotFoundError; any other failure (storage
    unreachable) raises as it is."""
    storage = storage_for(bucket)
    client = s3_client(storage)
    if client is not None:
        from botocore.exceptions import ClientError

        name = storage.bucket_name  # type: ignore[attr-defined]
        try:
            client.copy_object(Bucket=name, Key=target, CopySource={"Bucket": name, "Key": source})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(source) from exc
            raise
        return int(client.head_object(Bucket=name, Key=target)["ContentLength"])
    with storage.open(source, "rb") as handle:
        saved = storage.save(target, handle)
    if saved != target:
        raise OSError(f"storage saved {target} as {saved}")
    return int(storage.size(target))


def media_redirect_url(*, bucket: str, key: str, expires: int) -> str | None:
    """A short-lived URL of ``key`` in S3, or None for local storage (the site streams it)."""
    storage = storage_for(bucket)
    if s3_client(storage) is None:
        return None
    return str(storage.url(key, expire=expires))  # type: ignore[call-arg]


def sibling_key(key: str, suffix: str) -> str:
    """The key of a derived file beside the ZIP, e.g. ``.mp4`` or ``-thumb.webp``."""
    return key.removesuffix(".zip") + suffix


def s3_client(storage: Storage) -> Any | None:
    """The boto3 client behind an S3 storage, or None for any other backend (local files)."""
    if not (hasattr(storage, "bucket_name") and hasattr(storage, "connection")):
        return None
    return storage.connection.meta.client


def bucket_cors_allowed(*, bucket: str) -> list[str] | None:
    """The origins a bucket's CORS lets browsers upload from now ([] with no rule), or None for
    local storage, which has no CORS of its own."""
    client = s3_client(storage_for(bucket))
    if client is None:
        return None
    try:
        rules = client.get_bucket_cors(Bucket=bucket).get("CORSRules", [])
    except client.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchCORSConfiguration":
            return []
        raise
    return [origin for rule in rules for origin in rule.get("AllowedOrigins", [])]


def bucket_setup(*, bucket: str, cors_origins: list[str]) -> list[str]:
    """Create an S3 bucket if missing and let browsers on ``cors_origins`` POST uploads to it.
    Idempotent; returns what it did, for an operator to read. Local storage needs nothing."""
    client = s3_client(storage_for(bucket))
    if client is None:
        return ["local storage, nothing to do"]
    done: list[str] = []
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        client.create_bucket(Bucket=bucket)
        done.append("created")
    if cors_origins:
        rule = {
            "AllowedOrigins": cors_origins,
            "AllowedMethods": ["POST", "GET", "HEAD"],
            "AllowedHeaders": ["*"],
            "MaxAgeSeconds": 3600,
        }
        client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [rule]})
        done.append(f"CORS for {', '.join(cors_origins)}")
    return done


def upload_form(*, bucket: str, key: str, max_bytes: int, request_base_url: str) -> UploadForm:
    expires_in = int(settings.TAPES_UPLOAD_EXPIRES_SECONDS)
    expires_at = timezone.now() + timedelta(seconds=expires_in)
    storage = storage_for(bucket)
    client = s3_client(storage)
    if client is not None:
        post = client.generate_presigned_post(
            Bucket=storage.bucket_name,  # type: ignore[attr-defined]
            Key=key,
            Fields={"Content-Type": ZIP_CONTENT_TYPE},
            Conditions=[
                {"Content-Type": ZIP_CONTENT_TYPE},
                ["content-length-range", 1, max_bytes],
            ],
            ExpiresIn=expires_in,
        )
        return UploadForm(url=post["url"], fields=dict(post["fields"]), expires_at=expires_at)
    policy = LocalPolicy(
        bucket=bucket,
        key=key,
        max_bytes=max_bytes,
        content_type=ZIP_CONTENT_TYPE,
        expires_at=expires_at,
    )
    token = sign_policy(policy)
    # The policy rides in the URL too, so the endpoint knows the declared size (and refuses a
    # forged or expired policy) before it reads a byte of the body.
    url = request_base_url.rstrip("/") + reverse("tapes:upload-local")
    return UploadForm(
        url=f"{url}?{urlencode({'policy': token})}",
        fields={"key": key, "Content-Type": ZIP_CONTENT_TYPE, "policy": token},
        expires_at=expires_at,
    )


def sign_policy(policy: LocalPolicy) -> str:
    payload = {
        "bucket": policy.bucket,
        "key": policy.key,
        "max_bytes": policy.max_bytes,
        "content_type": policy.content_type,
        "expires": int(policy.expires_at.timestamp()),
    }
    raw = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
    return signing.Signer(salt=_POLICY_SALT).sign(raw)


def read_policy(token: str) -> LocalPolicy:
    """The policy a token carries; a forged, altered or expired one is refused."""
    try:
        raw = signing.Signer(salt=_POLICY_SALT).unsign(token)
        payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(raw.encode()))
        policy = LocalPolicy(
            bucket=str(payload["bucket"]),
            key=str(payload["key"]),
            max_bytes=int(payload["max_bytes"]),
            content_type=str(payload["content_type"]),
            expires_at=datetime.fromtimestamp(int(payload["expires"]), tz=UTC),
        )
    except (signing.BadSignature, ValueError, KeyError, TypeError) as exc:
        raise TapesiteError(
            "upload_policy_invalid",
            "The upload policy is missing or its signature is wrong.",
            status=403,
        ) from exc
    if policy.expires_at <= timezone.now():
        raise TapesiteError(
            "upload_expired", "The upload policy has expired; ask for a new upload.", status=403
        )
    return policy
