"""Timestamp identifiers (TIDs), the record keys of ``key: tid`` lexicons.

13 characters of base32-sortable: 53 bits of microseconds since the epoch and 10 bits of clock id.
"""

from __future__ import annotations

import random
import re
import threading
import time

_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
_lock = threading.Lock()
_last = 0
_clock_id = random.randrange(1024)


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_tid() -> str:
    """A fresh TID, strictly increasing within this process."""
    global _last
    with _lock:
        now = time.time_ns() // 1000
        _last = max(now, _last + 1)
        micros = _last
    return _encode(micros, 11) + _encode(_clock_id, 2)


def is_tid(value: str) -> bool:
    return bool(_TID.match(value))
