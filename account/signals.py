"""What account tells the apps above it, which connect in their AppConfig.ready (account never imports them)."""

from django.dispatch import Signal

# A reader proved their address for the first time (a verification code, or a password reset code): sent with
# `user=`, inside the transaction that marks them verified. books starts the free trial from it.
email_verified = Signal()
