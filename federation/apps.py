from django.apps import AppConfig


class FederationConfig(AppConfig):
    """AT Protocol: linked accounts, and each tape as a computer.aesthetic.tape record."""

    name = "federation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The tapes app sends its events without knowing who listens (docs/architecture.md).
        from federation import reactions
        from federation.metrics import FederationCollector
        from ops.metrics import source_register

        reactions.connect()
        source_register("federation", FederationCollector())
