from typing import Any

from django.apps import AppConfig


def _delete_users_tapes(sender: Any, *, user: Any, **kwargs: Any) -> None:
    from tapes.services import tapes_delete_for_user

    tapes_delete_for_user(user=user)


def _sites_changed(sender: Any, **kwargs: Any) -> None:
    from tapes.services import buckets_cors_enqueue

    buckets_cors_enqueue()


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
        # The buckets' CORS follows the registered sites (sites sits below tapes and only
        # announces the change).
        from sites.events import sites_changed

        sites_changed.connect(_sites_changed, dispatch_uid="tapes.buckets_cors")
        source_register("database", DatabaseCollector())
