# Tape.at now lives with TapeFederation (federation 0002 copied it there).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("tapes", "0006_guestclaim"),
        ("federation", "0002_record_uri_and_cid"),
    ]

    operations = [
        migrations.RemoveField(model_name="tape", name="at"),
    ]
