from typing import Any

from django.core.management.base import BaseCommand

from federation.services import atproto_keys_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored app password and session with the first key of "
        "ATPROTO_ENCRYPTION_KEYS. Rotation: put the new key first (keep the old one after it), "
        "run this, then remove the old key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = atproto_keys_rotate()
        self.stdout.write(f"re-encrypted the credentials of {count} account(s) with the first key")
