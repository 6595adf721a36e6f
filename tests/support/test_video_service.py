"""The video service's stand-in, spoken to with plain HTTP (none of the site's code): its answers
match the published lexicons (the reference validator says so), it refuses bad tokens, and what
it stores on the user's PDS is what it was sent."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
import requests

from tests.support.lexicon import reference_bsky_outputs
from tests.support.pds import Account, Pds
from tests.support.video_service import LIMITS_LXM, UPLOAD_LXM, VideoServiceStandIn

pytestmark = pytest.mark.django_db  # the fixture's settings

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8


def _token(pds: Pds, account: Account, *, aud: str, lxm: str, exp: int | None = None) -> str:
    session = pds.login(account.did, account.app_password)
    response = requests.get(
        pds.xrpc_url("com.atproto.server.getServiceAuth"),
        params={"aud": aud, "lxm": lxm, "exp": str(exp or int(time.time()) + 600)},
        headers={"Authorization": f"Bearer {session['accessJwt']}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def _call(
    service: VideoServiceStandIn,
    nsid: str,
    *,
    token: str | None = None,
    params: dict[str, str] | None = None,
    data: bytes | None = None,
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if data is not None:
        headers["Content-Type"] = "video/mp4"
        return requests.post(
            f"{service.url}/xrpc/{nsid}", params=params, data=data, headers=headers, timeout=60
        )
    return requests.get(f"{service.url}/xrpc/{nsid}", params=params, headers=headers, timeout=30)


def _upload(service: VideoServiceStandIn, pds: Pds, account: Account) -> requests.Response:
    token = _token(pds, account, aud="did:web:localhost", lxm=UPLOAD_LXM)
    return _call(
        service,
        "app.bsky.video.uploadVideo",
        token=token,
        params={"did": account.did, "name": "t.mp4"},
        data=VIDEO,
    )


def _status(service: VideoServiceStandIn, job_id: str) -> dict[str, Any]:
    response = _call(service, "app.bsky.video.getJobStatus", params={"jobId": job_id})
    assert response.status_code == 200, response.text
    return dict(response.json()["jobStatus"])


def test_a_video_ends_on_the_users_pds_and_every_answer_matches_the_lexicons(
    video_service: VideoServiceStandIn, atproto_settings: Pds
) -> None:
    pds = atproto_settings
    account = pds.create_account()
    limits_token = _token(pds, account, aud=video_service.did, lxm=LIMITS_LXM)
    limits = _call(video_service, "app.bsky.video.getUploadLimits", token=limits_token)
    assert limits.status_code == 200 and limits.json()["canUpload"] is True

    video_service.slow_polls = 2
    uploaded = _upload(video_service, pds, account)
    assert uploaded.status_code == 200, uploaded.text
    job = uploaded.json()["jobStatus"]
    assert (job["did"], job["state"]) == (account.did, "JOB_STATE_CREATED")
    states = [_status(video_service, job["jobId"])["state"] for _ in range(3)]
    assert states == ["JOB_STATE_ENCODING", "JOB_STATE_ENCODING", "JOB_STATE_COMPLETED"]
    blob = _status(video_service, job["jobId"])["blob"]
    assert blob["mimeType"] == "video/mp4" and blob["size"] == len(VIDEO)

    # What the PDS stored is the bytes sent: a record that names the blob ties it (an
    # untethered blob is not served), then getBlob has it.
    session = pds.login(account.did, account.password)
    record: dict[str, Any] = {
        "$type": "app.bsky.feed.post",
        "text": "v",
        "createdAt": "2026-12-05T12:00:00.000Z",
        "embed": {"$type": "app.bsky.embed.video", "video": blob},
    }
    written = requests.post(
        pds.xrpc_url("com.atproto.repo.createRecord"),
        json={"repo": account.did, "collection": "app.bsky.feed.post", "record": record},
        headers={"Authorization": f"Bearer {session['accessJwt']}"},
        timeout=30,
    )
    assert written.status_code == 200, written.text
    assert pds.get_blob(account.did, blob["ref"]["$link"]).content == VIDEO

    # Every way it fails answers in the lexicons' shapes too.
    for failure_code in ("validation_failure", "pds_upload_failure", "generic_failure"):
        video_service.failure_code, video_service.slow_polls = failure_code, 0
        failed = _status(
            video_service, _upload(video_service, pds, account).json()["jobStatus"]["jobId"]
        )
        assert (failed["state"], failed["failureCode"]) == ("JOB_STATE_FAILED", failure_code)
    for tell in (video_service.exhaust_daily_limit, video_service.refuse_account):
        tell()
        answer = _call(video_service, "app.bsky.video.getUploadLimits", token=limits_token)
        assert answer.json()["canUpload"] is False

    checked = reference_bsky_outputs(video_service.answers)
    assert len(checked) == len(video_service.answers) >= 12
    assert all(result["valid"] for result in checked), checked
    # The validator does check: a job status without its DID is refused.
    (bad,) = reference_bsky_outputs(
        [("app.bsky.video.getJobStatus", {"jobStatus": {"jobId": "j", "state": "x"}})]
    )
    assert not bad["valid"]


def _forged(token: str, **claims: Any) -> str:
    """The token with its claims changed and its signature kept (so no longer the issuer's)."""
    head, body, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload.update(claims)
    changed = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return f"{head}.{changed}.{signature}"


def test_bad_tokens_are_refused(video_service: VideoServiceStandIn, atproto_settings: Pds) -> None:
    pds = atproto_settings
    account, other = pds.create_account(), pds.create_account()
    good = _token(pds, account, aud=video_service.did, lxm=LIMITS_LXM)
    wrong_method = _token(pds, account, aud=video_service.did, lxm=UPLOAD_LXM)
    wrong_aud = _token(pds, account, aud="did:web:elsewhere.test", lxm=LIMITS_LXM)
    cases = {
        None: "AuthMissing",
        "not-a-jwt": "BadJwt",
        _forged(good, aud=video_service.did, lxm=LIMITS_LXM, iss=other.did): "BadJwtSignature",
        _forged(good, exp=int(time.time()) + 7200): "BadJwtSignature",
        wrong_method: "BadJwtLexiconMethod",
        wrong_aud: "BadJwtAudience",
    }
    for token, error in cases.items():
        answer = _call(video_service, "app.bsky.video.getUploadLimits", token=token)
        assert (answer.status_code, answer.json()["error"]) == (401, error)
    assert _call(video_service, "app.bsky.video.getUploadLimits", token=good).status_code == 200

    # An upload token must be the uploader's own, for their PDS, for uploadBlob.
    theirs = _token(pds, other, aud="did:web:localhost", lxm=UPLOAD_LXM)
    answer = _call(
        video_service,
        "app.bsky.video.uploadVideo",
        token=theirs,
        params={"did": account.did, "name": "t.mp4"},
        data=VIDEO,
    )
    assert (answer.status_code, answer.json()["error"]) == (401, "BadJwtIssuer")
    assert video_service.jobs == {}


def test_an_expired_token_is_refused(
    video_service: VideoServiceStandIn, atproto_settings: Pds
) -> None:
    account = atproto_settings.create_account()
    short = _token(
        atproto_settings, account, aud=video_service.did, lxm=LIMITS_LXM, exp=int(time.time()) + 2
    )
    time.sleep(2.5)
    answer = _call(video_service, "app.bsky.video.getUploadLimits", token=short)
    assert (answer.status_code, answer.json()["error"]) == (401, "JwtExpired")


def test_an_upload_token_for_another_service_is_refused(
    video_service: VideoServiceStandIn, atproto_settings: Pds
) -> None:
    # A token whose aud is not the PDS: the stand-in refuses it before the PDS ever sees it.
    account = atproto_settings.create_account()
    token = _token(atproto_settings, account, aud="did:web:not-the-pds.test", lxm=UPLOAD_LXM)
    answer = _call(
        video_service,
        "app.bsky.video.uploadVideo",
        token=token,
        params={"did": account.did, "name": "t.mp4"},
        data=VIDEO,
    )
    assert (answer.status_code, answer.json()["error"]) == (401, "BadJwtAudience")


def test_a_closed_stand_in_is_unreachable(video_service: VideoServiceStandIn) -> None:
    url = video_service.url
    video_service.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/xrpc/app.bsky.video.getUploadLimits", timeout=5)
