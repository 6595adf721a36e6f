"""Writes about people: users made and refreshed from Auth0's claims, local sign-up, username
changes, and deleting a person."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import events, usernames
from accounts.models import User
from tapesite.errors import TapesiteError

logger = logging.getLogger(__name__)

PROFILE_FIELDS = ("name", "nickname", "email", "picture")


def profile_from_claims(claims: dict[str, Any]) -> dict[str, str]:
    """The profile fields an ID token or /userinfo carries, cleaned: a malformed email or picture
    URL from the provider is dropped rather than refusing the person."""
    profile: dict[str, str] = {}
    for field in PROFILE_FIELDS:
        value = claims.get(field)
        if not isinstance(value, str):
            continue
        value = value.strip()
        try:
            if field == "email" and value:
                validate_email(value)
            if field == "picture" and value:
                URLValidator(schemes=["https", "http"])(value)
        except ValidationError:
            continue
        limit = getattr(User._meta.get_field(field), "max_length", None) or 255
        if len(value) <= limit:
            profile[field] = value
    return profile


def _username_taken(username: str, *, exclude_pk: int | None = None) -> bool:
    users = User.objects.filter(username__iexact=username)
    if exclude_pk is not None:
        users = users.exclude(pk=exclude_pk)
    return users.exists()


def _user_create(*, sub: str, profile: dict[str, str]) -> User:
    seed = profile.get("nickname") or profile.get("name") or profile.get("email", "").split("@")[0]
    base = usernames.username_base(seed or "")
    candidates = usernames.username_candidates(
        base, random_suffixes=[secrets.token_hex(3) for _ in range(6)]
    )
    for candidate in candidates:
        if _username_taken(candidate):
            continue
        user = User(sub=sub, username=candidate, profile_refreshed_at=timezone.now(), **profile)
        user.set_unusable_password()
        user.full_clean(validate_unique=False, validate_constraints=False)
        try:
            with transaction.atomic():
                user.save(force_insert=True)
        except IntegrityError:
            # Either the same person signing in twice at once (their row now exists), or someone
            # took this username a moment ago (try the next).
            existing = User.objects.filter(sub=sub).first()
            if existing is not None:
                return existing
            continue
        logger.info("new user %s (%s) from the sign-in provider", user.pk, candidate)
        return user
    raise TapesiteError(
        "username_unavailable", "No free username could be made; try again.", status=503
    )


def user_from_claims(*, sub: str, profile: dict[str, str] | None) -> User:
    """The user keyed by Auth0's ``sub``: created on first sight (username from the nickname,
    made unique), and with ``profile`` given, its name, nickname, email and picture refreshed.
    The username is never changed here: after creation it is the user's."""
    if not sub or len(sub) > 255:
        raise TapesiteError("identity_invalid", "The identity has no usable subject.", status=401)
    user = User.objects.filter(sub=sub).first()
    if user is None:
        return _user_create(sub=sub, profile=profile or {})
    if profile is None:
        return user
    changed = [field for field in PROFILE_FIELDS if getattr(user, field) != profile.get(field, "")]
    for field in changed:
        setattr(user, field, profile.get(field, ""))
    user.profile_refreshed_at = timezone.now()
    user.full_clean(validate_unique=False, validate_constraints=False)
    user.save(update_fields=[*changed, "profile_refreshed_at"])
    return user


def user_username_change(*, user: User, username: str) -> User:
    username = username.strip()
    problem = usernames.username_problem(username)
    if problem:
        raise TapesiteError("username_invalid", problem, details={"username": username[:60]})
    if username == user.username:
        return user
    if _username_taken(username, exclude_pk=user.pk):
        raise TapesiteError("username_taken", f"{username!r} is taken; pick another.", status=409)
    user.username = username
    user.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            user.save(update_fields=["username"])
    except IntegrityError as exc:
        user.refresh_from_db(fields=["username"])
        raise TapesiteError(
            "username_taken", f"{username!r} is taken; pick another.", status=409
        ) from exc
    return user


def user_sign_up(*, username: str, password: str, email: str = "") -> User:
    """A local account, for sites that do not use Auth0. The password is validated by the
    form with Django's validators before it gets here."""
    username = username.strip()
    problem = usernames.username_problem(username)
    if problem:
        raise TapesiteError("username_invalid", problem)
    if _username_taken(username):
        raise TapesiteError("username_taken", f"{username!r} is taken; pick another.", status=409)
    user = User(username=username, email=email)
    user.set_password(password)
    user.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError as exc:
        raise TapesiteError(
            "username_taken", f"{username!r} is taken; pick another.", status=409
        ) from exc
    return user


def user_delete(*, user: User) -> None:
    """Delete a person. The apps that keep things of theirs act first (``user_deleting``: the
    tapes app deletes their tapes with every stored file and upload slot; records on their own
    PDS are theirs and stay), then the row goes, which cascades the rest (the linked AT Protocol
    account, claims). Storage down: a receiver raises before any row goes, and this can simply
    run again."""
    events.user_deleting.send(sender=User, user=user)
    user.delete()
