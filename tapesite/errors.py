"""The one exception type of the domain.

Pure Python on purpose: the archive reader and the encoder raise it without importing Django, and a
single DRF exception handler turns it into the API's error shape.
"""

from __future__ import annotations

from typing import Any


class TapesiteError(Exception):
    """A failure with a stable machine-readable ``code`` and a human ``message``.

    ``retryable`` tells a job whether trying again could help (storage down) or not (a bad archive).
    """

    status: int = 400
    retryable: bool = False

    def __init__(
        self,
        code: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        status: int | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}
        if status is not None:
            self.status = status
        if retryable is not None:
            self.retryable = retryable

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"
