"""The encoder's one error type, and the guard that turns library failures into it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any

import av

PathLike = str | os.PathLike[str]


class EncodeError(Exception):
    """Rendering failed, with a stable ``code`` (``encode_*``) and a human ``message``.

    Bad input and ``encode_too_large`` never succeed on retry; an I/O error (disk full) might, and
    says so with ``retryable=True``. Pure on purpose: the tapes service maps it to the site's error
    type (and an HTTP status) where the two meet.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}
        self.retryable = retryable


def converted[T](path: PathLike, work: Callable[[], T]) -> T:
    """Run ``work``, which writes ``path``, turning FFmpeg and I/O errors into EncodeError.
    Anything else (EncodeError, an ArchiveError from the frames) passes through."""
    try:
        return work()
    except av.FFmpegError as exc:
        raise EncodeError(
            "encode_failed", f"Encoding failed: {exc}", details={"path": os.fspath(path)}
        ) from exc
    except OSError as exc:
        raise EncodeError(
            "encode_failed",
            f"Writing {os.fspath(path)} failed: {exc}",
            details={"path": os.fspath(path)},
            retryable=True,
        ) from exc


def remove(path: PathLike | None) -> None:
    if path is None:
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
