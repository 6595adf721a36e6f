"""HTTP API of Bluesky posts: a tape's post (read, post or retry, delete) and the signed-in
user's choice to post every new tape, with their recent posts."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bluesky import selectors, services
from tapes.models import Tape
from tapes.selectors import tape_get_of_owner
from tapesite.errors import TapesiteError


def _user(request: Request) -> Any:
    if not request.user.is_authenticated:
        raise TapesiteError("not_authenticated", "Sign in first.", status=401)
    return request.user


def _own_tape(request: Request, code: str) -> tuple[Any, Tape]:
    user = _user(request)
    tape = tape_get_of_owner(user=user, code=code)
    if tape is None:
        raise TapesiteError("not_found", f"No tape of yours has the code {code!r}.", status=404)
    return user, tape


class PostOutput(serializers.Serializer):
    state = serializers.ChoiceField(choices=["none", "pending", "deleting", "done", "failed"])
    embed = serializers.CharField(allow_null=True, help_text="video or external (a link card)")
    code = serializers.CharField(allow_null=True)
    message = serializers.CharField(allow_null=True)
    fallback = serializers.BooleanField(help_text="Posted as a link card; code says why.")
    uri = serializers.CharField(allow_null=True, help_text="The post's at:// URI.")
    url = serializers.CharField(allow_null=True, help_text="The post on bsky.app.")
    automatic = serializers.BooleanField()
    progress = serializers.IntegerField()
    retry_at = serializers.DateTimeField(allow_null=True)


def _post_out(tape: Tape) -> dict[str, Any]:
    return dict(PostOutput(selectors.tape_bluesky_summary(Tape.objects.get(pk=tape.pk))).data)


class TapeBlueskyApi(APIView):
    throttle_scope = "tape_post"

    @extend_schema(responses={200: PostOutput}, summary="Your tape's Bluesky post")
    def get(self, request: Request, code: str) -> Response:
        _, tape = _own_tape(request, code)
        return Response(_post_out(tape))

    @extend_schema(
        request=None, responses={202: PostOutput}, summary="Post your tape to Bluesky (or retry)"
    )
    def post(self, request: Request, code: str) -> Response:
        user, tape = _own_tape(request, code)
        services.bluesky_post_request(tape=tape, actor=user)
        return Response(_post_out(tape), status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={202: PostOutput}, summary="Delete your tape's Bluesky post")
    def delete(self, request: Request, code: str) -> Response:
        user, tape = _own_tape(request, code)
        services.bluesky_post_withdraw(tape=tape, actor=user)
        return Response(_post_out(tape), status=status.HTTP_202_ACCEPTED)


class MeBlueskyApi(APIView):
    throttle_scope = "tape_post"

    class Input(serializers.Serializer):
        post_new_tapes = serializers.BooleanField(
            help_text="Post each new public tape to Bluesky once its video is ready."
        )

    class Output(serializers.Serializer):
        post_new_tapes = serializers.BooleanField()
        posts = serializers.ListField(child=serializers.DictField())

    @staticmethod
    def _out(user: Any) -> dict[str, Any]:
        prefs = selectors.bluesky_preferences_get(user=user)
        posts = [
            {"tape": post.tape.code, **PostOutput(selectors.bluesky_post_summary(post)).data}
            for post in selectors.bluesky_posts_of_user(user=user)
        ]
        return {"post_new_tapes": bool(prefs and prefs.post_new_tapes), "posts": posts}

    @extend_schema(responses={200: Output}, summary="Your Bluesky choice and recent posts")
    def get(self, request: Request) -> Response:
        return Response(self.Output(self._out(_user(request))).data)

    @extend_schema(request=Input, responses={200: Output}, summary="Post every new tape, or not")
    def put(self, request: Request) -> Response:
        user = _user(request)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        services.bluesky_preferences_set(
            user=user, post_new_tapes=data.validated_data["post_new_tapes"]
        )
        return Response(self.Output(self._out(user)).data)
