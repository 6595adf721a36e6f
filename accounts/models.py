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
