import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from federation import identity, remote
from federation.xrpc import XrpcError

SCHEMA = "com.atproto.lexicon.schema"


class Command(BaseCommand):
    help = (
        "Publish lexicons/computer/aesthetic/tape.json as a com.atproto.lexicon.schema record "
        "(rkey = the NSID) on the site's account (ATPROTO_SITE_IDENTIFIER and "
        "ATPROTO_SITE_APP_PASSWORD). Idempotent. Prints the _lexicon DNS TXT record to add."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--lexicon",
            default=str(Path(settings.ATPROTO_LEXICON_DIR) / "computer/aesthetic/tape.json"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        who, password = settings.ATPROTO_SITE_IDENTIFIER, settings.ATPROTO_SITE_APP_PASSWORD
        if not who or not password:
            raise CommandError("set ATPROTO_SITE_IDENTIFIER and ATPROTO_SITE_APP_PASSWORD")
        doc = json.loads(Path(options["lexicon"]).read_text())
        nsid = doc["id"]
        try:
            found = remote.resolve(who)
        except identity.IdentityError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        xrpc = remote.pds(found.pds_url)
        record = {"$type": SCHEMA, **doc}
        try:
            existing = xrpc.get_record(found.did, SCHEMA, nsid)
            if existing is not None and existing["value"] == record:
                self.stdout.write(f"unchanged: {existing['uri']}")
            else:
                session = xrpc.create_session(found.did, password)
                written = xrpc.put_record(found.did, SCHEMA, nsid, record, session["accessJwt"])
                self.stdout.write(f"published: {written['uri']}")
        except XrpcError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        authority = ".".join(reversed(nsid.split(".")[:-1]))
        self.stdout.write(
            f'DNS: add a TXT record at _lexicon.{authority} with the value "did={found.did}"'
        )
