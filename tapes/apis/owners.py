"""Owners' doors that are not the tape itself: claiming guests' tapes, and undoing a delete."""

from __future__ import annotations

from typing import cast

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import SignedIn, signed_in_user
from tapes import presenters, selectors, services
from tapes.apis.common import claim_token, tape_not_found
from tapes.apis.tapes import TapeOutput
from tapesite.errors import TapesiteError


class TapeRestoreApi(APIView):
    """Undo a delete: the owner (or the guest with the claim token) within
    TAPES_OWNER_UNDO_SECONDS, or a moderator at any time."""

    permission_classes = [AllowAny]
    throttle_scope = "tape_post"

    @extend_schema(
        request=None,
        responses={200: TapeOutput},
        summary="Restore a deleted tape (its owner's undo, or a moderator)",
    )
    def post(self, request: Request, code: str) -> Response:
        tape = selectors.tape_get_deleted(code=code) or selectors.tape_get(code=code)
        if tape is None:
            raise tape_not_found(code)
        token = claim_token(request)
        if request.user.is_authenticated:
            services.tape_restore(tape=tape, actor=cast(User, request.user))
        elif token:
            services.tape_restore_as_guest(tape=tape, claim_token=token)
        else:
            raise TapesiteError("not_authenticated", "Sign in to restore a tape.", status=401)
        tape = presenters.tapes_for_output(selectors.tapes_with_code(code=code)).get()
        return Response(TapeOutput(presenters.tape_public(tape, request=request)).data)


class TapeClaimApi(APIView):
    permission_classes = [SignedIn]
    throttle_scope = "tape_claim"

    class Input(serializers.Serializer):
        tokens = serializers.ListField(
            child=serializers.CharField(max_length=200),
            min_length=1,
            max_length=services.MAX_TOKENS_PER_CLAIM,
        )

    class ResultOutput(serializers.Serializer):
        index = serializers.IntegerField()
        claimed = serializers.BooleanField()
        code = serializers.CharField(allow_null=True)
        error = serializers.DictField(allow_null=True)

    class Output(serializers.Serializer):
        claimed = serializers.ListField(child=serializers.CharField())
        results = serializers.ListField(child=serializers.DictField())

    @extend_schema(request=Input, responses={200: Output}, summary="Claim tapes posted as a guest")
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        outcomes = services.tapes_claim(
            user=signed_in_user(request), tokens=data.validated_data["tokens"]
        )
        results = [
            {
                "index": o.index,
                "claimed": o.claimed,
                "code": o.code,
                "error": o.error.as_dict() if o.error is not None else None,
            }
            for o in outcomes
        ]
        out = {
            "claimed": [o.code for o in outcomes if o.claimed and o.code],
            "results": self.ResultOutput(results, many=True).data,
        }
        return Response(self.Output(out).data)
