"""A stand-in for Bluesky's video service (``app.bsky.video.*``), for tests only.

It answers the three calls the site makes as the published lexicons say (getUploadLimits,
uploadVideo, getJobStatus; tests run its answers through the reference validator), and does what
the real service does with an upload's token: it checks the service-auth JWT's signature against
the issuer's DID document (resolved from the suite's PLC), its ``aud``, ``lxm`` and ``exp``, then
stores the video on the user's PDS with ``com.atproto.repo.uploadBlob`` and that same token, so
the reference PDS decides whether the token is good. It does not transcode: the blob is the bytes
it was given.

It can be told to fail each way (``limits``, ``upload_answer``, ``failure_code``, ``slow_polls``,
``close()`` for a closed port); a bad token is refused with 401 as the real one does. It listens
on 127.0.0.1 on a free port and is never used outside tests.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from atproto_crypto.did import parse_multikey
from atproto_crypto.multibase import multibase_to_bytes
from atproto_crypto.verify import ALGORITHM_TO_CLASS

from tests.support.pds import Pds

SERVICE_DID = "did:web:video.test"
LIMITS_LXM = "app.bsky.video.getUploadLimits"
UPLOAD_LXM = "com.atproto.repo.uploadBlob"

DEFAULT_LIMITS: dict[str, Any] = {
    "canUpload": True,
    "remainingDailyVideos": 25,
    "remainingDailyBytes": 10 * 1000 * 1000 * 1000,
}


class TokenRefused(Exception):
    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@dataclass
class Job:
    job_id: str
    did: str
    data: bytes
    token: str
    pds_url: str
    polls: int = 0
    state: str = "JOB_STATE_CREATED"
    progress: int = 0
    blob: dict[str, Any] | None = None
    failure_code: str = ""
    error: str = ""
    message: str = ""

    def as_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {"jobId": self.job_id, "did": self.did, "state": self.state}
        if self.state not in ("JOB_STATE_COMPLETED", "JOB_STATE_FAILED"):
            status["progress"] = self.progress
        for name, value in (
            ("blob", self.blob),
            ("failureCode", self.failure_code),
            ("error", self.error),
            ("message", self.message),
        ):
            if value:
                status[name] = value
        return status


@dataclass
class VideoServiceStandIn:
    plc_url: str
    did: str = SERVICE_DID
    url: str = ""
    #: What getUploadLimits answers (see ``exhaust_daily_limit`` and ``refuse_account``).
    limits: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    #: ``(status, body)`` uploadVideo answers instead of taking the video (None: it takes it).
    upload_answer: tuple[int, dict[str, Any]] | None = None
    #: A job fails with this ``failureCode`` once processed ('' : it completes).
    failure_code: str = ""
    #: getJobStatus says "encoding" this many times before the job moves on.
    slow_polls: int = 0
    jobs: dict[str, Job] = field(default_factory=dict)
    #: Every answer given with status 200: (nsid, body), for the reference validator.
    answers: list[tuple[str, Any]] = field(default_factory=list)
    #: Every token refused: (nsid, error).
    refused: list[tuple[str, str]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- failing on purpose ---------------------------------------------------------------

    def exhaust_daily_limit(self) -> None:
        self.limits = {
            "canUpload": False,
            "remainingDailyVideos": 0,
            "remainingDailyBytes": 0,
            "message": "You have reached your daily upload limit",
        }

    def refuse_account(self) -> None:
        """canUpload false with the day's quota left: on Bluesky, an unconfirmed email."""
        self.limits = {
            **DEFAULT_LIMITS,
            "canUpload": False,
            "error": "unconfirmed_email",
            "message": "Please confirm your email address to upload videos",
        }

    # --- running ----------------------------------------------------------------------------

    def start(self) -> None:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stand_in._handle(self)

            do_POST = do_GET

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop listening: its port is then closed (the service unreachable)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    # --- the calls --------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        nsid = parts.path.removeprefix("/xrpc/")
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        self.calls.append(nsid)
        try:
            status, answer = self._answer(nsid, query, body, request.headers.get("Authorization"))
        except TokenRefused as exc:
            self.refused.append((nsid, exc.error))
            status, answer = 401, {"error": exc.error, "message": exc.message}
        if status == 200:
            self.answers.append((nsid, answer))
        payload = json.dumps(answer).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)

    def _answer(
        self, nsid: str, query: dict[str, str], body: bytes, authorization: str | None
    ) -> tuple[int, dict[str, Any]]:
        if nsid == "app.bsky.video.getUploadLimits":
            self.verify(authorization, aud=self.did, lxm=LIMITS_LXM)
            return 200, dict(self.limits)
        if nsid == "app.bsky.video.uploadVideo":
            return self._upload(query, body, authorization)
        if nsid == "app.bsky.video.getJobStatus":
            job = self.jobs.get(query.get("jobId", ""))
            if job is None:
                return 404, {"error": "NotFound", "message": "no such job"}
            with self._lock:
                self._advance(job)
            return 200, {"jobStatus": job.as_status()}
        return 404, {"error": "MethodNotImplemented", "message": nsid}

    def _upload(
        self, query: dict[str, str], body: bytes, authorization: str | None
    ) -> tuple[int, dict[str, Any]]:
        did = query.get("did", "")
        if not did or not query.get("name"):
            return 400, {"error": "InvalidRequest", "message": "did and name are required"}
        document = self.did_document(did)
        pds_url = _pds_endpoint(document)
        # The token is for the user's PDS (the service spends it there), issued by the user.
        self.verify(authorization, aud=_pds_did(pds_url), lxm=UPLOAD_LXM, iss=did)
        if self.upload_answer is not None:
            return self.upload_answer
        if not body:
            return 400, {"error": "InvalidRequest", "message": "no video"}
        job = Job(
            job_id=secrets.token_hex(10),
            did=did,
            data=body,
            token=str(authorization).removeprefix("Bearer "),
            pds_url=pds_url,
        )
        self.jobs[job.job_id] = job
        return 200, {"jobStatus": job.as_status()}

    def _advance(self, job: Job) -> None:
        if job.state in ("JOB_STATE_COMPLETED", "JOB_STATE_FAILED"):
            return
        job.polls += 1
        if job.polls <= self.slow_polls:
            job.state = "JOB_STATE_ENCODING"
            job.progress = min(99, 100 * job.polls // (self.slow_polls + 1))
            return
        if self.failure_code:
            job.state, job.failure_code = "JOB_STATE_FAILED", self.failure_code
            job.error, job.message = f"{self.failure_code} for job {job.job_id}", "Failed"
            return
        response = requests.post(
            f"{job.pds_url}/xrpc/{UPLOAD_LXM}",
            data=job.data,
            headers={"Authorization": f"Bearer {job.token}", "Content-Type": "video/mp4"},
            timeout=60,
        )
        if response.status_code != 200:
            too_large = response.status_code == 413 or "too large" in response.text.lower()
            job.state = "JOB_STATE_FAILED"
            job.failure_code = (
                "pds_upload_unsupported_blob_size" if too_large else "pds_upload_failure"
            )
            job.error = f"PDS answered {response.status_code}: {response.text[:200]}"
            job.message = "Failed to upload video to PDS"
            return
        job.state, job.progress, job.blob = "JOB_STATE_COMPLETED", 100, response.json()["blob"]

    # --- the token --------------------------------------------------------------------------

    def did_document(self, did: str) -> dict[str, Any]:
        response = requests.get(f"{self.plc_url}/{did}", timeout=30)
        if response.status_code != 200:
            raise TokenRefused("InvalidRequest", f"{did} does not resolve")
        return dict(response.json())

    def verify(
        self, authorization: str | None, *, aud: str, lxm: str, iss: str | None = None
    ) -> dict[str, Any]:
        """The claims of the Bearer service-auth token, or TokenRefused: its signature by the
        issuer's atproto key (from its DID document), and its aud, lxm and exp."""
        if not authorization or not authorization.startswith("Bearer "):
            raise TokenRefused("AuthMissing", "a service-auth token is required")
        token = authorization.removeprefix("Bearer ")
        try:
            head, body, signature = token.split(".")
            header = json.loads(_b64(head))
            claims = json.loads(_b64(body))
        except ValueError as exc:
            raise TokenRefused("BadJwt", "not a JWT") from exc
        if header.get("alg") not in ("ES256K", "ES256"):
            raise TokenRefused("BadJwt", f"alg {header.get('alg')}")
        issuer = str(claims.get("iss") or "").split("#")[0]
        if iss is not None and issuer != iss:
            raise TokenRefused("BadJwtIssuer", f"issued by {issuer}, not {iss}")
        alg, key = _atproto_key(self.did_document(issuer))
        if header.get("alg") != alg:
            raise TokenRefused("BadJwt", f"alg {header.get('alg')} for an {alg} key")
        if not ALGORITHM_TO_CLASS[alg]().verify_signature(
            key, f"{head}.{body}".encode(), _b64(signature)
        ):
            raise TokenRefused("BadJwtSignature", "the signature is not the issuer's")
        if claims.get("aud") != aud:
            raise TokenRefused("BadJwtAudience", f"aud {claims.get('aud')}, expected {aud}")
        if claims.get("lxm") != lxm:
            raise TokenRefused("BadJwtLexiconMethod", f"lxm {claims.get('lxm')}, expected {lxm}")
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
            raise TokenRefused("JwtExpired", "the token has expired")
        return dict(claims)


# The DID document's key types: the PLC's legacy names give the raw (uncompressed) key.
_LEGACY_KEY_TYPES = {
    "EcdsaSecp256k1VerificationKey2019": "ES256K",
    "EcdsaSecp256r1VerificationKey2019": "ES256",
}


def _atproto_key(document: dict[str, Any]) -> tuple[str, bytes]:
    """The JWT alg and public key of the document's ``#atproto`` verification method."""
    for method in document.get("verificationMethod", []):
        if not str(method.get("id", "")).endswith("#atproto"):
            continue
        encoded = str(method["publicKeyMultibase"])
        if method.get("type") in _LEGACY_KEY_TYPES:
            return _LEGACY_KEY_TYPES[method["type"]], multibase_to_bytes(encoded)
        key = parse_multikey(encoded)
        return key.jwt_alg, key.key_bytes
    raise TokenRefused("InvalidRequest", "no atproto key in the DID document")


def _pds_endpoint(document: dict[str, Any]) -> str:
    for service in document.get("service", []):
        if str(service.get("id", "")).endswith("#atproto_pds"):
            return str(service["serviceEndpoint"]).rstrip("/")
    raise TokenRefused("InvalidRequest", "no PDS in the DID document")


def _pds_did(pds_url: str) -> str:
    """What the PDS calls itself (describeServer), the aud its upload tokens must name."""
    response = requests.get(f"{pds_url}/xrpc/com.atproto.server.describeServer", timeout=30)
    response.raise_for_status()
    return str(response.json()["did"])


@pytest.fixture
def video_service(
    settings: Any, atproto_settings: Pds, plc_url: str
) -> Iterator[VideoServiceStandIn]:
    """The stand-in, with the site's settings pointed at it (its origin on the egress allowlist,
    polling every 20 ms for at most 5 s); stopped after the test."""
    service = VideoServiceStandIn(plc_url=plc_url)
    service.start()
    settings.BLUESKY_VIDEO_SERVICE_URL = service.url
    settings.BLUESKY_VIDEO_SERVICE_DID = service.did
    settings.BLUESKY_VIDEO_POLL_SECONDS = 5.0
    settings.BLUESKY_VIDEO_POLL_INTERVAL_SECONDS = 0.02
    settings.TAPES_EGRESS_ALLOWED_ORIGINS = [*settings.TAPES_EGRESS_ALLOWED_ORIGINS, service.url]
    try:
        yield service
    finally:
        service.close()
