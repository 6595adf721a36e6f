"""Reading what people type into the code box. Pure: no Django."""

from __future__ import annotations

import re

# Codes are letters and digits (tapes.codes' alphabet, 3 to 10 long); a little slack on length
# keeps this module independent of the settings, and the lookup decides whether it exists.
_CODE = re.compile(r"[A-Za-z0-9]{1,16}")
_TAPE_PATH = re.compile(r"/t/([A-Za-z0-9]{1,16})/?(?:[?#].*)?$")


def code_from_input(text: str) -> str | None:
    """``xyz``, ``#xyz``, ``!xyz``, ``/t/xyz`` or a whole tape link give ``xyz``; else None.

    Case is kept: codes are case-sensitive."""
    value = text.strip()
    found = _TAPE_PATH.search(value)
    if found:
        return found.group(1)
    value = value.lstrip("/")
    if value[:1] in ("!", "#"):
        value = value[1:]
    elif value[:3].lower() == "%23":
        value = value[3:]
    return value if _CODE.fullmatch(value) else None
