"""What happens to a person that other apps react to. Accounts is the bottom layer: it sends
these and never imports the apps that react (docs/architecture.md)."""

from __future__ import annotations

from django.dispatch import Signal

# Before a user's row is deleted, outside any transaction: each app deletes what it keeps for
# them, files in storage included. A receiver that raises (storage down) stops the deletion
# before the row goes. kwargs: user. Sent with sender=User.
user_deleting = Signal()
