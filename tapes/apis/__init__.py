"""HTTP API for tapes, by concern: ``tapes`` (reading, posting, editing, deleting, media),
``uploads`` (upload slots and the local form), ``owners`` (claiming guests' tapes, undoing a
delete). Views parse input, call a service or selector, and render output."""

from tapes.apis.owners import TapeClaimApi, TapeRestoreApi
from tapes.apis.tapes import (
    TapeCollectionApi,
    TapeDetailApi,
    TapeMediaApi,
    TapeOutput,
    TapeRetryApi,
)
from tapes.apis.uploads import LocalUploadApi, TapeUploadStartApi

__all__ = [
    "LocalUploadApi",
    "TapeClaimApi",
    "TapeCollectionApi",
    "TapeDetailApi",
    "TapeMediaApi",
    "TapeOutput",
    "TapeRestoreApi",
    "TapeRetryApi",
    "TapeUploadStartApi",
]
