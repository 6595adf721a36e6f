# The record's {rkey, uri, cid} (the original's `at`) is federation's: it moves from Tape.at to
# TapeFederation.uri and .cid (rkey was already there). tapes 0007 then drops Tape.at.
from django.db import migrations, models


def copy_at(apps, schema_editor):
    Tape = apps.get_model("tapes", "Tape")
    TapeFederation = apps.get_model("federation", "TapeFederation")
    for tape_id, at in Tape.objects.exclude(at={}).values_list("id", "at").iterator():
        if not at or not at.get("uri"):
            continue
        fed, _ = TapeFederation.objects.get_or_create(tape_id=tape_id, defaults={"state": "done"})
        fed.uri, fed.cid = at["uri"], at.get("cid", "")
        fed.rkey = at.get("rkey") or fed.rkey
        fed.save(update_fields=["uri", "cid", "rkey"])


def copy_back(apps, schema_editor):
    Tape = apps.get_model("tapes", "Tape")
    TapeFederation = apps.get_model("federation", "TapeFederation")
    for fed in TapeFederation.objects.exclude(uri="").iterator():
        at = {"rkey": fed.rkey, "uri": fed.uri, "cid": fed.cid}
        Tape.objects.filter(pk=fed.tape_id).update(at=at)


class Migration(migrations.Migration):
    dependencies = [
        ("federation", "0001_initial"),
        ("tapes", "0006_guestclaim"),
    ]

    operations = [
        migrations.AddField(
            model_name="tapefederation",
            name="uri",
            field=models.CharField(blank=True, max_length=4096),
        ),
        migrations.AddField(
            model_name="tapefederation",
            name="cid",
            field=models.CharField(blank=True, max_length=128),
        ),
        migrations.RunPython(copy_at, copy_back),
    ]
