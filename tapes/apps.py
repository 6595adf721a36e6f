from typing import Any

from django.apps import AppConfig


def _delete_users_tapes(sender: Any, *, user: Any, **kwargs: Any) -> None:
    from tapes.services import tapes_delete_for_user

    tapes_delete_for_user(user=user)


class TapesConfig(AppConfig):
    name = "tapes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Deleting a person (accounts) takes their tapes and files with them; accounts does not
        # know the tapes app, it announces the deletion.
        from accounts.events import user_deleting
        from ops.metrics import source_register
        from tapes.metrics import DatabaseCollector

        user_deleting.connect(_delete_users_tapes, dispatch_uid="tapes.delete_users_tapes")
        source_register("database", DatabaseCollector())
