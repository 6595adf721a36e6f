"""The S3 storage backend: django-storages' ``S3Storage`` with one botocore data loader per
process.

django-storages opens a new boto3 session for every connection (one per thread, and one per job
in an RQ work horse, which is a fresh fork), and every new session parses botocore's S3 model
and endpoint rules from JSON again: about 0.16 s of CPU, 0.35 s in a fork, more than encoding a
short tape (bench/burst.py). The parsed data never changes, so every session here shares one
loader, and a worker parses it once before it forks (``warm_up``). Only the parsed files are
shared: each session still gets its own credentials and each connection its own HTTP pool, so
no socket crosses a fork or a thread.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from boto3.s3.transfer import TransferConfig
from storages.backends.s3 import S3Storage as _BaseS3Storage

_paths_lock = threading.Lock()


@cache
def shared_loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


def new_session(
    *,
    access_key: str | None = None,
    secret_key: str | None = None,
    session_token: str | None = None,
) -> boto3.Session:
    """A boto3 session on the process's shared data loader."""
    core = botocore.session.get_session()
    loader = shared_loader()
    core.register_component("data_loader", loader)
    session = boto3.Session(
        botocore_session=core,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        aws_session_token=session_token,
    )
    # Every boto3 session appends its own data folder to the loader's search path; on a shared
    # loader that would grow by one entry per connection.
    with _paths_lock:
        paths = loader.search_paths
        paths[:] = list(dict.fromkeys(paths))
    return session


def warm_up() -> None:
    """Parse the S3 model into the shared loader now, without opening any connection: called by
    a worker before it forks its work horses, so each of them starts with it parsed."""
    # Placeholder keys: without any, botocore would look for credentials, up to asking the
    # cloud's metadata address.
    session = new_session(access_key="warm-up", secret_key="warm-up")
    session.resource("s3", region_name="us-east-1")


class S3Storage(_BaseS3Storage):
    def get_default_settings(self) -> dict[str, Any]:
        # The library's defaults already hold AWS_S3_TRANSFER_CONFIG when it is set; only its
        # absence is replaced, and a storage's own OPTIONS still override both.
        defaults: dict[str, Any] = super().get_default_settings()
        if defaults["transfer_config"] is None:
            defaults["transfer_config"] = TransferConfig(use_threads=False)
        return defaults

    def _create_session(self) -> Any:
        if self.session_profile:  # a named profile reads its own files; keep the library's way
            return super()._create_session()
        return new_session(
            access_key=self.access_key,
            secret_key=self.secret_key,
            session_token=self.security_token,
        )
