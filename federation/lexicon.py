"""A small validator for AT Protocol lexicon records (the subset our lexicons use).

The Python SDK has no lexicon validator, and a PDS does not validate records of lexicons it does
not know, so the site checks every record before writing it. The behaviour follows the reference
validator (npm ``@atproto/lexicon``); ``tests/federation/test_lexicon.py`` runs one shared set of
valid and invalid records through both and requires them to agree. Where this one is stricter
than the reference it says so:

- ``datetime`` must be an atproto datetime (RFC 3339 with a timezone, a real calendar day); the
  reference accepts any ISO 8601 string, even 30 February.
- ``integer`` rejects JSON floats such as ``3.0``, which JavaScript cannot tell from ``3``.
- blobs' ``accept`` and ``maxSize`` are checked when ``check_blobs=True`` (the default). The
  reference only checks that a value is a blob ref; a PDS that knows the lexicon enforces these
  at upload time, and ours does not know it.

Pure Python: no Django, no network.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from federation import graphemes

_TYPES = {"record", "object", "string", "integer", "boolean", "blob", "ref", "array", "unknown"}
_KEYWORDS: dict[str, set[str]] = {
    "record": {"key", "record"},
    "object": {"required", "properties", "nullable"},
    "string": {
        "format",
        "maxLength",
        "minLength",
        "maxGraphemes",
        "minGraphemes",
        "enum",
        "const",
        "knownValues",
        "default",
    },
    "integer": {"minimum", "maximum", "enum", "const", "default"},
    "boolean": {"const", "default"},
    "blob": {"accept", "maxSize"},
    "ref": {"ref"},
    "array": {"items", "minLength", "maxLength"},
    "unknown": set(),
}
_COMMON = {"type", "description"}

_DATETIME = re.compile(
    r"^[0-9]{4}-(0[1-9]|1[012])-([0-2][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)"
    r"(\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
_URI = re.compile(r"^\w+:(?://)?[^\s/]\S*$")
_DID = re.compile(r"^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$")
_CID = re.compile(r"^(b[a-z2-7]{50,}|Qm[1-9A-HJ-NP-Za-km-z]{44})$")


class LexiconError(Exception):
    """A problem with a lexicon document itself (a bug in our files, not in a record)."""


class RecordInvalid(Exception):
    """A record that does not satisfy its lexicon; ``path`` says where (``Record/video``)."""

    code = "record_invalid"

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.message = f"{path} {problem}"
        super().__init__(self.message)


def _check_schema(name: str, node: dict[str, Any]) -> None:
    kind = node.get("type")
    if kind not in _TYPES:
        raise LexiconError(f"{name}: unsupported type {kind!r}")
    unknown = set(node) - _COMMON - _KEYWORDS[kind]
    if unknown:
        raise LexiconError(f"{name}: unsupported keywords {sorted(unknown)} for {kind}")
    if kind == "record":
        _check_schema(f"{name}.record", node["record"])
    elif kind == "object":
        for key, child in node.get("properties", {}).items():
            _check_schema(f"{name}.{key}", child)
    elif kind == "array":
        _check_schema(f"{name}[]", node["items"])
    elif kind == "string" and node.get("format") not in (None, "datetime", "uri", "did", "cid"):
        raise LexiconError(f"{name}: unsupported string format {node['format']!r}")


@dataclass(frozen=True)
class Lexicon:
    """One lexicon document; ``validate_record`` checks a record of its ``main`` record type."""

    doc: dict[str, Any]

    def __post_init__(self) -> None:
        if self.doc.get("lexicon") != 1 or not isinstance(self.doc.get("id"), str):
            raise LexiconError("not a lexicon document (lexicon: 1 and an id are required)")
        for def_name, node in self.doc.get("defs", {}).items():
            _check_schema(f"{self.nsid}#{def_name}", node)
        if self.doc["defs"].get("main", {}).get("type") != "record":
            raise LexiconError(f"{self.nsid}: main is not a record")

    @classmethod
    def load(cls, path: Path | str) -> Lexicon:
        return cls(json.loads(Path(path).read_text()))

    @property
    def nsid(self) -> str:
        return str(self.doc["id"])

    def validate_record(self, record: Any, *, check_blobs: bool = True) -> None:
        """Raise RecordInvalid unless ``record`` (JSON form, with ``$type``) is valid."""
        if not isinstance(record, dict):
            raise RecordInvalid("Record", "must be an object")
        if not isinstance(record.get("$type"), str):
            raise RecordInvalid("Record/$type", "must be a string")
        if record["$type"] != self.nsid:
            raise RecordInvalid("Record/$type", f"must be {self.nsid}")
        body = self.doc["defs"]["main"]["record"]
        _Validator(self, check_blobs).value("Record", body, record)


@dataclass
class _Validator:
    lexicon: Lexicon
    check_blobs: bool

    def value(self, path: str, node: dict[str, Any], value: Any) -> None:
        kind = node["type"]
        getattr(self, f"_{kind}")(path, node, value)

    def _ref(self, path: str, node: dict[str, Any], value: Any) -> None:
        target = node["ref"]
        if not target.startswith("#"):
            raise LexiconError(f"only local refs are supported, not {target!r}")
        self.value(path, self.lexicon.doc["defs"][target[1:]], value)

    def _object(self, path: str, node: dict[str, Any], value: Any) -> None:
        if not isinstance(value, dict):
            raise RecordInvalid(path, "must be an object")
        required = node.get("required", [])
        nullable = node.get("nullable", [])
        for key, child in node.get("properties", {}).items():
            if key not in value:
                if key in required:
                    raise RecordInvalid(path, f'must have the property "{key}"')
                continue
            if value[key] is None and key in nullable:
                continue
            self.value(f"{path}/{key}", child, value[key])
        for key in required:
            if key not in value:
                raise RecordInvalid(path, f'must have the property "{key}"')

    def _string(self, path: str, node: dict[str, Any], value: Any) -> None:
        if not isinstance(value, str):
            raise RecordInvalid(path, "must be a string")
        if "const" in node and value != node["const"]:
            raise RecordInvalid(path, f"must be {node['const']}")
        if "enum" in node and value not in node["enum"]:
            raise RecordInvalid(path, f"must be one of ({'|'.join(node['enum'])})")
        size = len(value.encode("utf-8"))  # lexicon lengths count UTF-8 bytes
        if "maxLength" in node and size > node["maxLength"]:
            raise RecordInvalid(path, f"must not be longer than {node['maxLength']} characters")
        if "minLength" in node and size < node["minLength"]:
            raise RecordInvalid(path, f"must not be shorter than {node['minLength']} characters")
        if "maxGraphemes" in node or "minGraphemes" in node:
            length = graphemes.count(value)
            if "maxGraphemes" in node and length > node["maxGraphemes"]:
                raise RecordInvalid(
                    path, f"must not be longer than {node['maxGraphemes']} graphemes"
                )
            if "minGraphemes" in node and length < node["minGraphemes"]:
                raise RecordInvalid(
                    path, f"must not be shorter than {node['minGraphemes']} graphemes"
                )
        fmt = node.get("format")
        if fmt == "datetime" and not _is_datetime(value):
            raise RecordInvalid(path, "must be an valid atproto datetime")
        if fmt == "uri" and not _URI.match(value):
            raise RecordInvalid(path, "must be a uri")
        if fmt == "did" and not (_DID.match(value) and len(value) <= 2048):
            raise RecordInvalid(path, "must be a valid did")
        if fmt == "cid" and not _CID.match(value):
            raise RecordInvalid(path, "must be a cid string")

    def _integer(self, path: str, node: dict[str, Any], value: Any) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise RecordInvalid(path, "must be an integer")
        if "const" in node and value != node["const"]:
            raise RecordInvalid(path, f"must be {node['const']}")
        if "enum" in node and value not in node["enum"]:
            raise RecordInvalid(path, f"must be one of ({'|'.join(map(str, node['enum']))})")
        if "maximum" in node and value > node["maximum"]:
            raise RecordInvalid(path, f"can not be greater than {node['maximum']}")
        if "minimum" in node and value < node["minimum"]:
            raise RecordInvalid(path, f"can not be less than {node['minimum']}")

    def _boolean(self, path: str, node: dict[str, Any], value: Any) -> None:
        if not isinstance(value, bool):
            raise RecordInvalid(path, "must be a boolean")
        if "const" in node and value != node["const"]:
            raise RecordInvalid(path, f"must be {node['const']}")

    def _array(self, path: str, node: dict[str, Any], value: Any) -> None:
        if not isinstance(value, list):
            raise RecordInvalid(path, "must be an array")
        if "maxLength" in node and len(value) > node["maxLength"]:
            raise RecordInvalid(path, f"must not have more than {node['maxLength']} elements")
        if "minLength" in node and len(value) < node["minLength"]:
            raise RecordInvalid(path, f"must not have fewer than {node['minLength']} elements")
        for index, item in enumerate(value):
            self.value(f"{path}/{index}", node["items"], item)

    def _unknown(self, path: str, node: dict[str, Any], value: Any) -> None:
        if not isinstance(value, dict):
            raise RecordInvalid(path, "must be an object")

    def _blob(self, path: str, node: dict[str, Any], value: Any) -> None:
        mime, size = _blob_ref(path, value)
        if not self.check_blobs:
            return
        accept = node.get("accept")
        if accept and not any(_mime_matches(pattern, mime) for pattern in accept):
            raise RecordInvalid(path, f"has type {mime}, not one of {', '.join(accept)}")
        if "maxSize" in node and size > node["maxSize"]:
            raise RecordInvalid(path, f"is {size} bytes, more than {node['maxSize']}")


def _blob_ref(path: str, value: Any) -> tuple[str, int]:
    """A blob ref in JSON form: the typed one, or the legacy ``{cid, mimeType}``."""
    if isinstance(value, dict) and value.get("$type") == "blob":
        ref = value.get("ref")
        link = ref.get("$link") if isinstance(ref, dict) and len(ref) == 1 else None
        mime, size = value.get("mimeType"), value.get("size")
        if (
            isinstance(link, str)
            and _CID.match(link)
            and isinstance(mime, str)
            and isinstance(size, int)
            and not isinstance(size, bool)
        ):
            return mime, size
    elif isinstance(value, dict) and set(value) == {"cid", "mimeType"}:
        cid, mime = value["cid"], value["mimeType"]
        if isinstance(cid, str) and _CID.match(cid) and isinstance(mime, str):
            return mime, -1
    raise RecordInvalid(path, "should be a blob ref")


def _mime_matches(pattern: str, mime: str) -> bool:
    if pattern == "*/*":
        return True
    if pattern.endswith("/*"):
        return mime.startswith(pattern[:-1])
    return mime == pattern


def _is_datetime(value: str) -> bool:
    if len(value) > 64 or not _DATETIME.match(value) or value.endswith("-00:00"):
        return False
    # The regex checked the shape; this checks the calendar (no 30 February). A leap second
    # (:60) passes the regex and is checked as :59.
    try:
        datetime.strptime(value[:17] + min(value[17:19], "59"), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return False
    return True
