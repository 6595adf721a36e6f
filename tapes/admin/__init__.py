"""The Django admin for tapes: moderation (nuke, un-nuke, retries) and a fast list."""

from tapes.admin.relocation import TapeRelocationAdmin
from tapes.admin.tape import TapeAdmin

__all__ = ["TapeAdmin", "TapeRelocationAdmin"]
