"""factory_boy factory for registered sites (rows; the services are tested on their own)."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from sites.models import Site


class SiteFactory(DjangoModelFactory[Site]):
    class Meta:
        model = Site

    origin = factory.Sequence(lambda n: f"https://pieces{n}.example")
    name = factory.Sequence(lambda n: f"Pieces {n}")
    active = True
