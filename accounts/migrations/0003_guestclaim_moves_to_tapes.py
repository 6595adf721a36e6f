# Who owns a tape is the tapes app's concern: GuestClaim moves there with its rows. The table is
# renamed here and the model leaves accounts' state; tapes 0006 takes it into its own state.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_auth0_profile_and_guest_claims"),
        ("tapes", "0005_failure_detail_and_user_cascade"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name="GuestClaim", table="tapes_guestclaim"),
            ],
            state_operations=[migrations.DeleteModel(name="GuestClaim")],
        ),
    ]
