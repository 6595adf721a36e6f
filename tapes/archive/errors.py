"""The archive's one error type and its codes (written down in docs/tape-format.md)."""

from __future__ import annotations

from typing import Any, Final

#: Every code :func:`inspect_archive` and :func:`iter_frames` raise (see docs/tape-format.md).
CODES: Final = (
    "validation_not_zip",
    "validation_archive_too_large",
    "validation_encrypted",
    "validation_corrupt",
    "validation_unsafe_path",
    "validation_link",
    "validation_duplicate_entry",
    "validation_too_many_entries",
    "validation_uncompressed_too_large",
    "validation_compression_ratio",
    "validation_no_frames",
    "validation_too_many_frames",
    "validation_too_long",
    "validation_dimensions",
    "validation_timing_missing",
    "validation_timing_malformed",
    "validation_metadata_missing",
    "validation_metadata_malformed",
    "validation_timing_mismatch",
    "validation_duration_invalid",
    "validation_frame_not_png",
    "validation_frame_size_mismatch",
    "validation_frame_names",
)


class ArchiveError(Exception):
    """The upload is not a valid tape: a stable ``validation_*`` ``code``, a human ``message`` and
    JSON-ready ``details``. Never retryable: the same bytes fail the same way.

    Pure on purpose (no Django, no site): the encode service turns it into the site's error type,
    and so chooses the HTTP status, where the two meet.
    """

    retryable = False

    def __init__(self, code: str, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


def clip(value: Any, limit: int = 200) -> Any:
    # Messages and details echo names and values from the upload: keep them short for logs and
    # API responses whatever the archive contains.
    if isinstance(value, str):
        return value if len(value) <= limit else value[: limit - 3] + "..."
    if isinstance(value, list):
        return [clip(item, limit) for item in value[:20]]
    return value


def fail(code: str, message: str, **details: Any) -> ArchiveError:
    clipped = {key: clip(value) for key, value in details.items()}
    return ArchiveError(code, clip(message, 500), details=clipped or None)
