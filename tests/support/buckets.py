"""Tape buckets of a test module's own on the session's SeaweedFS (the ``s3_storage`` fixture),
for tests that rewrite a bucket's CORS rule: the shared buckets' rules stay as other tests set
them."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import storages

from tapes.storage import s3_client


def use_own_buckets(settings: Any, *, user: str, guest: str) -> Any:
    """Point the user and guest storages (and TAPES_*_BUCKET) at ``user`` and ``guest``;
    returns the S3 client. The buckets are created by ``buckets_setup`` when missing."""
    names = {user: "tapes_user", guest: "tapes_guest"}
    settings.TAPES_USER_BUCKET, settings.TAPES_GUEST_BUCKET = user, guest
    settings.TAPES_BUCKET_STORAGES = names
    settings.STORAGES = {**settings.STORAGES}
    for bucket, alias in names.items():
        options = {**settings.STORAGES[alias]["OPTIONS"], "bucket_name": bucket}
        settings.STORAGES[alias] = {**settings.STORAGES[alias], "OPTIONS": options}
    client = s3_client(storages["tapes_user"])
    assert client is not None
    return client
