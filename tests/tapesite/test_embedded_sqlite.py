"""The embedded default database is SQLite (`./scripts/run`), while the rest of the suite runs on
PostgreSQL. SQLite refuses queries PostgreSQL takes (an ORDER BY inside a UNION, which a model's
default ordering adds): the paths that build such queries run here on a real SQLite file, in a
process of their own so the suite's database connection is untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

SCRIPT = """
import json

import django

django.setup()
from django.contrib import admin
from django.core.management import call_command
from django.test import Client
from django.test.utils import setup_test_environment

from tapes.models import Tape
from tests.tapes.factories import TapeFactory

# Allows the test client's host, as pytest-django does for the suite.
setup_test_environment()
call_command("migrate", verbosity=0)
client = Client(REMOTE_ADDR="127.0.0.9")
# The guest quota counts the poster's tapes and open slots in one UNION.
first = client.post(
    "/api/tapes/uploads", {"piece": "line", "bytes": 1234}, content_type="application/json"
)
again = client.post(
    "/api/tapes/uploads", {"piece": "line", "bytes": 1234}, content_type="application/json"
)
tape = TapeFactory(slug="sqlite-search-1")
# The admin's search is a UNION of indexed lookups.
found, _ = admin.site._registry[Tape].get_search_results(None, Tape.objects.all(), "sqlite-search")
print(json.dumps({
    "first": first.status_code,
    "body": first.content.decode()[:500],
    "again": again.status_code,
    "found": [t.pk for t in found],
    "tape": tape.pk,
}))
"""


def test_guest_uploads_and_the_admin_search_run_on_sqlite(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tapesite.settings.test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'embedded.sqlite3'}",
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = done.stdout.strip().splitlines()[-1]
    figures = json.loads(answer)
    assert figures["first"] == 201, figures["body"]
    assert figures["again"] == 201
    assert figures["found"] == [figures["tape"]]
