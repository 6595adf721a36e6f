from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from accounts.services import user_delete
from tapes.models import Tape


@admin.register(User)
class TapesiteUserAdmin(UserAdmin):
    """Django's user admin, except that deleting someone goes through ``user_delete``: a plain
    row delete would cascade their tapes' rows but leave every file in storage."""

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # Tapes cannot be deleted in their own admin (moderators nuke them), but a person's tapes
        # go with them, through user_delete: they must not make the deletion look forbidden.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(Tape._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        user_delete(user=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for user in queryset:
            user_delete(user=user)
