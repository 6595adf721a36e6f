from django.apps import AppConfig


class BlueskyConfig(AppConfig):
    """Tapes where people already are on the AT Protocol: Bluesky posts of tapes (with the video
    processed by Bluesky's video service, or a link card) and a Bluesky custom feed of them."""

    name = "bluesky"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from bluesky import reactions

        reactions.connect()
