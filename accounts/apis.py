"""HTTP API about the signed-in person: who they are, their username, and claiming the tapes
they posted as a guest."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import claims, services
from accounts.models import User
from tapesite.errors import TapesiteError


def _user(request: Request) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise TapesiteError("not_authenticated", "Sign in first.", status=401)
    return user


class SignedIn(IsAuthenticated):
    def has_permission(self, request: Request, view: Any) -> bool:
        _user(request)
        return True


class MeOutput(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField()
    nickname = serializers.CharField()
    email = serializers.CharField()
    picture = serializers.CharField()
    sub = serializers.CharField(allow_null=True)
    is_staff = serializers.BooleanField()


def _me(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "name": user.display_name,
        "nickname": user.nickname,
        "email": user.email,
        "picture": user.picture,
        "sub": user.sub,
        "is_staff": user.is_staff,
    }


class MeApi(APIView):
    permission_classes = [SignedIn]
    throttle_scope = "account"

    class UpdateInput(serializers.Serializer):
        username = serializers.CharField(max_length=60)

    @extend_schema(responses={200: MeOutput}, summary="The signed-in user")
    def get(self, request: Request) -> Response:
        return Response(MeOutput(_me(_user(request))).data)

    @extend_schema(request=UpdateInput, responses={200: MeOutput}, summary="Change your username")
    def patch(self, request: Request) -> Response:
        data = self.UpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_username_change(
            user=_user(request), username=data.validated_data["username"]
        )
        return Response(MeOutput(_me(user)).data)


class TapeClaimApi(APIView):
    permission_classes = [SignedIn]
    throttle_scope = "tape_claim"

    class Input(serializers.Serializer):
        tokens = serializers.ListField(
            child=serializers.CharField(max_length=200),
            min_length=1,
            max_length=claims.MAX_TOKENS_PER_CLAIM,
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
        outcomes = claims.tapes_claim(user=_user(request), tokens=data.validated_data["tokens"])
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
