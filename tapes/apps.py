from django.apps import AppConfig


class TapesConfig(AppConfig):
    name = "tapes"
    default_auto_field = "django.db.models.BigAutoField"
