"""Production static files: collected with hashed names, compressed, served by whitenoise, and
the ES modules' imports pointing at the hashed names too."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_production_static_files_are_hashed_compressed_and_served(
    settings: Any, tmp_path: Path, client: Any
) -> None:
    root = tmp_path / "static"
    settings.STATIC_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "tapesite.staticfiles.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = False
    call_command("collectstatic", interactive=False, verbosity=0)
    paths = json.loads((root / "staticfiles.json").read_text())["paths"]

    recorder = paths["web/recorder.js"]
    assert re.fullmatch(r"web/recorder\.[0-9a-f]{12}\.js", recorder)
    assert (root / f"{recorder}.gz").exists()
    # A module loads its imports under their hashed names as well.
    source = (root / recorder).read_text()
    assert f'from "./{Path(paths["web/player.js"]).name}"' in source
    worker = (root / paths["web/recorder-worker.js"]).read_text()
    fflate = Path(paths["vendor/fflate/fflate.js"]).name
    assert f'from "../vendor/fflate/{fflate}"' in worker
    assert (root / "vendor/fflate/LICENSE").exists()

    response = client.get(f"/static/{recorder}", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"]
    assert response["Content-Type"].startswith("text/javascript")

    page = client.get("/").content.decode()
    assert f'src="/static/{recorder}"' in page
    assert f'data-worker="/static/{paths["web/recorder-worker.js"]}"' in page
