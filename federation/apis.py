"""HTTP API of the federation app: the signed-in user's AT Protocol link, and retries."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from federation import selectors, services
from federation.errors import public_message
from federation.models import AtprotoAccount
from federation.services.accounts import pds_error
from federation.services.sessions import AccountAuthFailed
from federation.xrpc import XrpcError
from tapes.selectors import tape_get
from tapesite.errors import TapesiteError


def _user(request: Request) -> Any:
    if not request.user.is_authenticated:
        raise TapesiteError("not_authenticated", "Sign in first.", status=401)
    return request.user


def _not_linked() -> TapesiteError:
    return TapesiteError("atproto_not_linked", "No AT Protocol account is linked.", status=404)


class AccountOutput(serializers.Serializer):
    did = serializers.CharField()
    handle = serializers.CharField()
    pds_url = serializers.CharField()
    state = serializers.CharField()
    error = serializers.DictField(allow_null=True)
    provisioned = serializers.BooleanField()
    linked_at = serializers.DateTimeField()


def _account_out(account: AtprotoAccount) -> dict[str, Any]:
    # Never the app password nor the session: they do not leave the database.
    error = (
        {"code": account.error_code, "message": public_message(account.error_code)}
        if account.error_code
        else None
    )
    return {
        "did": account.did,
        "handle": account.handle,
        "pds_url": account.pds_url,
        "state": account.state,
        "error": error,
        "provisioned": account.provisioned,
        "linked_at": account.linked_at,
    }


class MeAtprotoApi(APIView):
    throttle_scope = "tape_post"

    class Input(serializers.Serializer):
        identifier = serializers.CharField(max_length=2048, help_text="A handle or a DID.")
        app_password = serializers.CharField(max_length=256, trim_whitespace=True)

    @extend_schema(responses={200: AccountOutput}, summary="Your linked AT Protocol account")
    def get(self, request: Request) -> Response:
        account = selectors.atproto_account_get(user=_user(request))
        if account is None:
            raise _not_linked()
        return Response(AccountOutput(_account_out(account)).data)

    @extend_schema(
        request=Input, responses={200: AccountOutput}, summary="Link an account (app password)"
    )
    def put(self, request: Request) -> Response:
        user = _user(request)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        account = services.atproto_account_link(
            user=user,
            identifier=data.validated_data["identifier"],
            app_password=data.validated_data["app_password"],
        )
        return Response(AccountOutput(_account_out(account)).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "delete_records", bool, description="Also delete the tapes' records on the PDS."
            )
        ],
        responses={204: None},
        summary="Unlink the account (records stay unless delete_records=1)",
    )
    def delete(self, request: Request) -> Response:
        user = _user(request)
        account = selectors.atproto_account_get(user=user)
        if account is None:
            raise _not_linked()
        if request.query_params.get("delete_records") in ("1", "true", "yes"):
            try:
                services.atproto_records_delete_all(account=account)
            except AccountAuthFailed as exc:
                raise TapesiteError(
                    "pds_auth_failed",
                    "The PDS refused the app password, so the records could not be deleted; "
                    "relink with a new app password first, or unlink without deleting.",
                ) from exc
            except XrpcError as exc:
                raise pds_error(exc) from exc
        services.atproto_account_unlink(user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TapeFederationRetryApi(APIView):
    throttle_scope = "tape_post"

    class Output(serializers.Serializer):
        state = serializers.CharField()
        code = serializers.CharField(allow_null=True)
        message = serializers.CharField(allow_null=True)

    @extend_schema(request=None, responses={202: Output}, summary="Retry a tape's federation")
    def post(self, request: Request, code: str) -> Response:
        user = _user(request)
        tape = tape_get(code=code)
        if tape is None:
            raise TapesiteError("not_found", f"No tape has the code {code!r}.", status=404)
        services.tape_federation_retry(tape=tape, actor=user)
        tape.refresh_from_db()
        return Response(
            self.Output(selectors.tape_federation_summary(tape)).data,
            status=status.HTTP_202_ACCEPTED,
        )
