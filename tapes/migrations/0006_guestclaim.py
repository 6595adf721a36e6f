# GuestClaim, moved from accounts with its rows (accounts 0003 renamed its table): state only.
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tapes", "0005_failure_detail_and_user_cascade"),
        ("accounts", "0003_guestclaim_moves_to_tapes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="GuestClaim",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("token_sha256", models.CharField(max_length=64, unique=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("claimed_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "claimed_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="guest_claims",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "tape",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="guest_claim",
                                to="tapes.tape",
                            ),
                        ),
                    ],
                ),
            ],
        ),
    ]
