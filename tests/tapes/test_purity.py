"""The pure domain modules load neither Django nor the site when imported: their errors carry a
code and a message, and the HTTP status is chosen where they meet the API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


PURE = [
    "tapes.archive",
    "tapes.encoder",
    "tapes.timing",
    "tapes.codes",
    "tapes.ranges",
    "federation.lexicon",
]


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports_neither_django_nor_the_site(module: str) -> None:
    probe = (
        f"import sys, {module}; "
        "loaded = {m.split('.')[0] for m in sys.modules}; "
        "print(sorted(loaded & {'django', 'tapesite', 'rest_framework', 'accounts'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
