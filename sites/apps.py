from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "sites"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Registered sites"
