"""Everything the reader refuses, as one frozen set of numbers a site can override."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Final

MiB: Final = 1024 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    """Everything :func:`inspect_archive` refuses. Build from settings with ``from_settings``."""

    max_archive_bytes: int = 100 * MiB
    max_uncompressed_bytes: int = 2 * 1024**3
    max_entry_ratio: float = 200.0
    ratio_check_min_bytes: int = 1 * MiB
    max_entries: int = 20_000
    max_frames: int = 3600
    max_duration_ms: float = 60_000
    min_frame_duration_ms: float = 0.001
    max_frame_duration_ms: float = 10_000
    max_width: int = 4096
    max_height: int = 4096
    max_base_width: int = 1024
    max_base_height: int = 1024
    max_json_bytes: int = 4 * MiB

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"ArchiveLimits.{f.name} must be a positive number, got {value!r}")
        if self.min_frame_duration_ms > self.max_frame_duration_ms:
            raise ValueError("ArchiveLimits.min_frame_duration_ms exceeds max_frame_duration_ms")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> ArchiveLimits:
        """Keys are field names in any case (``MAX_FRAMES`` works); unknown keys are errors."""
        overrides = {key.lower(): value for key, value in (settings or {}).items()}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown archive limit(s): {', '.join(unknown)}")
        return cls(**overrides)


DEFAULT_LIMITS: Final = ArchiveLimits()
