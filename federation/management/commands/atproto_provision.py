from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from federation.models import AtprotoAccount
from federation.services.accounts import atproto_account_provision
from tapesite.errors import TapesiteError


class Command(BaseCommand):
    help = (
        "Create accounts on the site's own PDS (ATPROTO_PDS_URL) for users with no linked "
        "account, using ATPROTO_PDS_ADMIN_PASSWORD (an invite per account) or "
        "ATPROTO_PDS_INVITE_CODE (one code for every account: with --all, make it with a "
        "useCount of at least the number of users)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("usernames", nargs="*")
        parser.add_argument("--all", action="store_true", help="Every user without an account.")

    def handle(self, *args: Any, **options: Any) -> None:
        pds_url = settings.ATPROTO_PDS_URL
        admin, invite = settings.ATPROTO_PDS_ADMIN_PASSWORD, settings.ATPROTO_PDS_INVITE_CODE
        if not pds_url or not (admin or invite):
            raise CommandError(
                "set ATPROTO_PDS_URL and ATPROTO_PDS_ADMIN_PASSWORD or ATPROTO_PDS_INVITE_CODE"
            )
        if not options["usernames"] and not options["all"]:
            raise CommandError("name users or pass --all")
        users = User.objects.exclude(pk__in=AtprotoAccount.objects.values("user_id"))
        if not options["all"]:
            users = users.filter(username__in=options["usernames"])
        failures = 0
        for user in users.order_by("pk"):
            try:
                account = atproto_account_provision(
                    user=user, pds_url=pds_url, admin_password=admin, invite_code=invite
                )
            except TapesiteError as exc:
                failures += 1
                self.stdout.write(f"{user.username}: {exc.code} {exc.message}")
                continue
            self.stdout.write(f"{user.username}: {account.handle} {account.did}")
        if failures:
            raise CommandError(f"{failures} account(s) could not be provisioned")
