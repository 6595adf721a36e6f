"""Local settings make a secret key per checkout instead of shipping a fixed one."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tapesite.settings.base import BASE_DIR, local_secret_key


def test_a_key_is_made_once_kept_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret_key"
    first = local_secret_key(path)
    assert len(first) >= 50
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_secret_key(path) == first
    assert local_secret_key(tmp_path / "other" / "secret_key") != first


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: local_secret_key(path), range(32)))
    assert keys == {path.read_text().strip()}
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_local_settings_use_the_checkouts_key_and_git_ignores_it() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env["DJANGO_SETTINGS_MODULE"] = "tapesite.settings.local"
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.SECRET_KEY)",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=BASE_DIR,
    )
    assert out.returncode == 0, out.stderr
    key = out.stdout.strip()
    assert key == (BASE_DIR / "var" / "secret_key").read_text().strip()
    assert "insecure" not in key and len(key) >= 50
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "var/secret_key"], cwd=BASE_DIR, check=False
    )
    assert ignored.returncode == 0
