from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower


class User(AbstractUser):
    """A person. Signed in through Auth0 they are keyed by the token's ``sub`` (the original
    stores ``user: "auth0|123"``); with the site's own accounts ``sub`` stays empty.

    name, nickname, email and picture are Auth0's profile, refreshed at every sign-in; the
    username (``/u/<username>``, ``?owner=``) is made once from the nickname and then belongs to
    the user, who may change it.
    """

    sub = models.CharField(max_length=255, unique=True, null=True, blank=True)
    name = models.CharField(max_length=255, blank=True)
    nickname = models.CharField(max_length=255, blank=True)
    picture = models.URLField(max_length=2000, blank=True)
    profile_refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractUser.Meta):
        constraints = [
            # /u/Ada and /u/ada must not be two people.
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
        ]

    @property
    def display_name(self) -> str:
        return self.name or self.get_full_name() or self.username


class GuestClaim(models.Model):
    """The claim on a guest's tape: the browser that posted it holds the token, we keep only its
    SHA-256. Claiming makes the tape the claimer's; a claimed row stays as the record of it."""

    tape = models.OneToOneField("tapes.Tape", on_delete=models.CASCADE, related_name="guest_claim")
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="guest_claims",
    )

    def __str__(self) -> str:
        return f"claim on tape {self.tape_id}" + (" (claimed)" if self.claimed_at else "")
