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
    assert f'from "./{Path(paths["web/frameplayer.js"]).name}"' in source
    # Re-exports too (the player's controls hand on its sources: export ... from).
    player = (root / paths["web/player.js"]).read_text()
    assert f'from "./{Path(paths["web/player-sources.js"]).name}"' in player
    # The recorder library's packing worker, too (static/tapes/).
    worker = (root / paths["tapes/pack-worker.js"]).read_text()
    fflate = Path(paths["vendor/fflate/fflate.js"]).name
    assert f'from "../vendor/fflate/{fflate}"' in worker
    assert f'from "../{paths["tapes/tapes.js"]}"' in source
    assert (root / "vendor/fflate/LICENSE").exists()

    response = client.get(f"/static/{recorder}", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"]
    assert response["Content-Type"].startswith("text/javascript")

    # The files a module finds beside itself (new URL("./pack-worker.js", import.meta.url)):
    # the hashed module starts the hashed worker of the same deploy, and the element its
    # stylesheet.
    take = (root / paths["tapes/take.js"]).read_text()
    assert f'new URL("./{Path(paths["tapes/pack-worker.js"]).name}"' in take
    assert f'new URL("./{Path(paths["tapes/png-worker.js"]).name}"' in worker
    parts = (root / paths["tapes/tape-recorder-parts.js"]).read_text()
    assert f'new URL("./{Path(paths["tapes/tape-recorder.css"]).name}"' in parts
    # A module the tape page loads only when needed (import("./tapezip.js"): Django rewrites
    # those itself), too.
    tape = (root / paths["web/tape.js"]).read_text()
    assert f'import("./{Path(paths["web/tapezip.js"]).name}")' in tape
    # Pages on other sites import the library by its plain names: those are served too.
    plain = client.get("/static/tapes/pack-worker.js")
    assert plain.status_code == 200
    assert plain["Access-Control-Allow-Origin"] == "*"

    page = client.get("/").content.decode()
    assert f'src="/static/{recorder}"' in page


ROOT = Path(__file__).resolve().parents[2]
_INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I), "inline script"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "inline event handler"),
    (re.compile(r"\sstyle\s*=", re.I), "inline style"),
    (re.compile(r"<style", re.I), "style element"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_templates_hold_no_inline_script_or_style() -> None:
    """The CSP allows scripts and styles from files only (tapesite.headers): a template that
    brings back an inline one breaks in every browser. json_script data blocks are fine."""
    templates = [
        path
        for folder in [ROOT / "templates", *ROOT.glob("*/templates")]
        if ".venv" not in folder.parts
        for path in folder.rglob("*.html")
    ]
    assert len(templates) > 10
    found = [
        f"{path.relative_to(ROOT)}: {what}"
        for path in templates
        for pattern, what in _INLINE
        if pattern.search(path.read_text())
    ]
    assert found == []


def test_every_palette_colour_and_brush_has_its_css_rule() -> None:
    """The recorder's swatches get their colour from a class (no inline style under the CSP)."""
    from web.views import BRUSH_SIZES, PALETTE

    css = (ROOT / "static" / "tapesite.css").read_text()
    for name, value in PALETTE:
        if value != "rainbow":
            assert f".swatch-{name} {{ --swatch: {value}; }}" in css, name
    for size in BRUSH_SIZES:
        assert f".brush-{size} {{ --size: {size}; }}" in css, size
