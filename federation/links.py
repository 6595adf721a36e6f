"""Links to the federation app's pages, for other apps' pages (the tape page links its record)."""

from __future__ import annotations

from django.urls import reverse


def record_page_url(uri: str) -> str | None:
    """The site's page of the record at ``uri`` (``at://<did>/<collection>/<rkey>``), or None
    when ``uri`` is not a record's address."""
    parts = uri.removeprefix("at://").split("/") if uri.startswith("at://") else []
    if len(parts) != 3 or not all(parts):
        return None
    did, collection, rkey = parts
    return reverse(
        "federation_pages:record", kwargs={"did": did, "collection": collection, "rkey": rkey}
    )
