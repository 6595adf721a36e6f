"""The pages' forms: what people type, checked for shape; the services decide the rest."""

from __future__ import annotations

from django import forms

from tapes.models import ALT_TEXT_MAX, DESCRIPTION_MAX, TITLE_MAX, TapeVisibility


class TapeEditForm(forms.Form):
    title = forms.CharField(
        required=False,
        max_length=TITLE_MAX,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "Untitled"}),
        help_text="Shown above the tape and when it is shared.",
    )
    description = forms.CharField(
        required=False,
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="A few words about it: what, why, how.",
    )
    alt_text = forms.CharField(
        label="Alt text",
        required=False,
        max_length=ALT_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What the tape shows, for people who cannot see it (screen readers, feeds).",
    )
    visibility = forms.ChoiceField(
        choices=[
            (TapeVisibility.PUBLIC, "Public: in the gallery, on your page and on your PDS"),
            (TapeVisibility.UNLISTED, "Unlisted: only people with its code or link"),
        ],
        widget=forms.RadioSelect,
        # Absent means unchanged (the view passes on only what was sent).
        required=False,
    )
