"""manage.py atproto_publish_lexicon: the lexicon's schema record, written idempotently."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import call_command

from tests.support.pds import Pds

pytestmark = pytest.mark.django_db


def test_publish_lexicon_writes_the_schema_record_idempotently(
    settings: Any, atproto_settings: Pds, capsys: Any
) -> None:
    site = atproto_settings.create_account()
    settings.ATPROTO_SITE_IDENTIFIER = site.handle
    settings.ATPROTO_SITE_APP_PASSWORD = site.app_password
    call_command("atproto_publish_lexicon")
    first = capsys.readouterr().out
    assert "published: at://" in first
    assert f'_lexicon.aesthetic.computer with the value "did={site.did}"' in first
    got = atproto_settings.get_record(
        site.did, "com.atproto.lexicon.schema", "computer.aesthetic.tape"
    )
    assert got.status_code == 200
    value = got.json()["value"]
    doc = json.loads((settings.ATPROTO_LEXICON_DIR / "computer/aesthetic/tape.json").read_text())
    assert value == {"$type": "com.atproto.lexicon.schema", **doc}
    call_command("atproto_publish_lexicon")
    assert "unchanged" in capsys.readouterr().out
    assert len(atproto_settings.list_records(site.did, "com.atproto.lexicon.schema")) == 1
