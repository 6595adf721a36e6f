from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bluesky.feed_config import feed_config
from bluesky.feed_publishing import (
    DISPLAY_NAME,
    FeedPublishError,
    feed_publish,
    feed_unpublish,
)
from federation import identity, remote
from federation.xrpc import XrpcError


class Command(BaseCommand):
    help = (
        "Publish the 'Tapes' Bluesky feed: put the app.bsky.feed.generator record (rkey "
        "BLUESKY_FEED_RKEY, naming the site's did:web) on the publisher's account "
        "(BLUESKY_FEED_PUBLISHER_IDENTIFIER or --identifier, with "
        "BLUESKY_FEED_PUBLISHER_APP_PASSWORD from the environment). Idempotent. --delete "
        "removes it."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--identifier", help="The publisher's handle or DID.")
        parser.add_argument("--delete", action="store_true", help="Remove the feed record.")
        parser.add_argument("--display-name", default=DISPLAY_NAME)
        parser.add_argument("--description", default=None)
        parser.add_argument("--avatar", help="A PNG or JPEG (up to 1 MB) for the feed's avatar.")

    def handle(self, *args: Any, **options: Any) -> None:
        who = options["identifier"] or settings.BLUESKY_FEED_PUBLISHER_IDENTIFIER
        password = settings.BLUESKY_FEED_PUBLISHER_APP_PASSWORD
        if not who or not password:
            raise CommandError(
                "set BLUESKY_FEED_PUBLISHER_IDENTIFIER (or --identifier) and "
                "BLUESKY_FEED_PUBLISHER_APP_PASSWORD (or ATPROTO_SITE_IDENTIFIER and "
                "ATPROTO_SITE_APP_PASSWORD)"
            )
        config = feed_config()
        if not config.hostname:
            raise CommandError("set TAPES_SITE_URL or BLUESKY_FEEDGEN_HOSTNAME")
        avatar = Path(options["avatar"]).read_bytes() if options["avatar"] else None
        try:
            publisher = remote.resolve(who)
            if options["delete"]:
                done = feed_unpublish(config=config, publisher=publisher, app_password=password)
            else:
                done = feed_publish(
                    config=config,
                    publisher=publisher,
                    app_password=password,
                    display_name=options["display_name"],
                    description=options["description"],
                    avatar=avatar,
                )
        except identity.IdentityError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        except (XrpcError, FeedPublishError) as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(f"{done.outcome}: {done.uri}")
        if options["delete"]:
            return
        self.stdout.write(f"Bluesky: {done.app_url}")
        self.stdout.write(f"served by {config.service_did} (https://{config.hostname})")
        if config.publisher_did != publisher.did:
            self.stdout.write(
                f"set BLUESKY_FEED_PUBLISHER_DID={publisher.did} so the site serves this feed"
            )
        elif not config.enabled:
            self.stdout.write("the feed generator is off here (BLUESKY_FEEDGEN_ENABLED)")
