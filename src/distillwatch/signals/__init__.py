"""Registered signals. Importing this package registers every built-in signal.

``SIGNALS`` maps a stable signal id (``request.*``, ``account.*``, ``campaign.*``) to its class.
"""

from distillwatch.signals import account, campaign, distribution, request  # noqa: F401  (registration side effects)
from distillwatch.signals.base import SIGNALS, Signal, SignalHit, register

__all__ = ["SIGNALS", "Signal", "SignalHit", "register"]
