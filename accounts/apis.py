"""HTTP API about the signed-in person: who they are and their username. (Claiming the tapes they
posted as a guest is the tapes app's: ``tapes.apis.TapeClaimApi``.)"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.models import User
from accounts.permissions import SignedIn, signed_in_user


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
        return Response(MeOutput(_me(signed_in_user(request))).data)

    @extend_schema(request=UpdateInput, responses={200: MeOutput}, summary="Change your username")
    def patch(self, request: Request) -> Response:
        data = self.UpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_username_change(
            user=signed_in_user(request), username=data.validated_data["username"]
        )
        return Response(MeOutput(_me(user)).data)
