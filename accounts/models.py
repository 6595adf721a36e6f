from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """A custom user from day one, so the Auth0 subject and the AT Protocol link can join later
    without a painful swap of AUTH_USER_MODEL."""

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username
