"""Errors raised by :mod:`distillwatch.intel`."""

from __future__ import annotations

from distillwatch.errors import DistillwatchError

__all__ = ["IntelError"]


class IntelError(DistillwatchError, ValueError):
    """IP-intelligence data is missing, unusable, or cannot serve a request.

    Raised by :func:`distillwatch.intel.load_intel` for a directory that does not
    exist or holds none of the expected files, and by the samplers for a kind or
    country the loaded data cannot serve. Subclass of :class:`ValueError` and of
    :class:`distillwatch.errors.DistillwatchError`.
    """
