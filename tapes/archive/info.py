"""What a valid archive holds: the reader's result."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class TapeInfo:
    """What a valid archive holds. Where metadata.json and the frames disagree, the frames win and
    the disagreement is listed in ``discrepancies`` as ``{"field", "metadata", "actual"}``."""

    piece: str | None
    frame_names: tuple[str, ...]
    durations_ms: tuple[float, ...]
    total_duration_ms: float
    stored_width: int
    stored_height: int
    scale: int
    width: int
    height: int
    has_alpha: bool  # a frame has an alpha channel (tRNS transparency is composited, unflagged)
    fps: float | None
    created: str | None
    discrepancies: tuple[dict[str, Any], ...] = ()
    ignored_entries: tuple[str, ...] = ()
    metadata_shape: str = "canonical"
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def frames(self) -> int:
        return len(self.frame_names)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the raw metadata, which the caller may store separately)."""
        data = asdict(self)
        data.pop("metadata")
        data["frames"] = self.frames
        for key in ("frame_names", "durations_ms", "discrepancies", "ignored_entries"):
            data[key] = list(data[key])
        return data
