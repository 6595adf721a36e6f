"""Production refuses to start without its secrets instead of running on unsafe defaults."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

COMPLETE = {
    "DJANGO_SETTINGS_MODULE": "tapesite.settings.production",
    "DJANGO_SECRET_KEY": "x" * 50,
    "DJANGO_ALLOWED_HOSTS": "tapes.example",
    "DATABASE_URL": "postgres://u@db/tapes",
    "REDIS_URL": "redis://cache:6379/0",
    "TAPES_STORAGE": "s3",
    "AWS_ACCESS_KEY_ID": "k",
    "AWS_SECRET_ACCESS_KEY": "s",
    "ATPROTO_ENCRYPTION_KEYS": "x" * 43 + "=",
    "TAPES_SITE_URL": "https://tapes.example",
}


def load_production(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "AWS_", "TAPES_", "ATPROTO_"))
    }
    clean.pop("DATABASE_URL", None)
    clean.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('ok')"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_starts_with_every_secret() -> None:
    result = load_production(COMPLETE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize(
    "missing",
    [
        "DJANGO_SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "AWS_SECRET_ACCESS_KEY",
        "TAPES_STORAGE",
        "ATPROTO_ENCRYPTION_KEYS",
        "TAPES_SITE_URL",
    ],
)
def test_production_fails_loudly_without(missing: str) -> None:
    result = load_production({k: v for k, v in COMPLETE.items() if k != missing})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
