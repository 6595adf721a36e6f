"""The one exception type of the domain.

Services raise it; a single DRF exception handler (``tapesite.api``) turns it into the API's error
shape, and the pages show its message. The pure modules keep errors of their own, free of the
site (``tapes.archive.ArchiveError``, ``tapes.encoder.EncodeError``,
``federation.errors.FederationFailure``), and the services that call them translate. Pure Python,
so anything may import it.
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
