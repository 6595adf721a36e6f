"""did:plc identities made on the suite's PLC directory with any PDS endpoint, signed here (a
genesis operation: DAG-CBOR, secp256k1, low-S), so a test can name a PDS the reference PDS would
never write into a DID document: a loopback listener of its own."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

import libipld
import requests
from atproto_crypto.consts import SECP256K1_CURVE_ORDER, SECP256K1_DID_PREFIX
from atproto_crypto.multibase import bytes_to_multibase
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def _did_key(key: ec.EllipticCurvePrivateKey) -> str:
    public = key.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    return "did:key:" + bytes_to_multibase("z", SECP256K1_DID_PREFIX + public)


def _sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> str:
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    if s > SECP256K1_CURVE_ORDER // 2:
        s = SECP256K1_CURVE_ORDER - s
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def plc_create_did(plc_url: str, *, pds_endpoint: str, handle: str | None = None) -> str:
    """A new did:plc on ``plc_url`` whose DID document names ``pds_endpoint`` as its PDS."""
    key = ec.generate_private_key(ec.SECP256K1())
    did_key = _did_key(key)
    op: dict[str, Any] = {
        "type": "plc_operation",
        "rotationKeys": [did_key],
        "verificationMethods": {"atproto": did_key},
        "alsoKnownAs": [f"at://{handle or f'x{secrets.token_hex(4)}.test'}"],
        "services": {
            "atproto_pds": {"type": "AtprotoPersonalDataServer", "endpoint": pds_endpoint}
        },
        "prev": None,
    }
    op["sig"] = _sign(key, libipld.encode_dag_cbor(op))
    digest = hashlib.sha256(libipld.encode_dag_cbor(op)).digest()
    did = "did:plc:" + base64.b32encode(digest).decode().lower()[:24]
    response = requests.post(f"{plc_url}/{did}", json=op, timeout=30)
    assert response.status_code == 200, response.text
    return did
