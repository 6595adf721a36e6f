"""What the sites app announces. The tapes app re-applies its buckets' CORS on ``sites_changed``
(sites sits below tapes and cannot call its storage itself)."""

from django.dispatch import Signal

# Sent after the commit of any change to which origins are registered and active.
sites_changed = Signal()
