"""Encryption at rest for stored AT Protocol credentials (app passwords and sessions).

Fernet (AES-128-CBC + HMAC-SHA256) with a list of keys: the first encrypts, all decrypt, so a key
is rotated by putting a new one first, running ``manage.py atproto_rotate_key`` (re-encrypts every
row with the new key), then dropping the old one. Pure: the keys are passed in.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretsError(Exception):
    code = "secret_unreadable"


def derive_key(material: str) -> str:
    """A Fernet key from any string (used to derive a local/test key from SECRET_KEY)."""
    return base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest()).decode()


def _fernet(keys: list[str]) -> MultiFernet:
    if not keys:
        raise SecretsError("no encryption key configured (ATPROTO_ENCRYPTION_KEYS)")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def encrypt(plain: str, keys: list[str]) -> str:
    return _fernet(keys).encrypt(plain.encode()).decode()


def decrypt(token: str, keys: list[str]) -> str:
    try:
        return _fernet(keys).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretsError(
            "a stored credential cannot be decrypted with the configured keys"
        ) from exc


def rotate(token: str, keys: list[str]) -> str:
    """The same secret, encrypted with the first key."""
    try:
        return _fernet(keys).rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretsError(
            "a stored credential cannot be decrypted with the configured keys"
        ) from exc
