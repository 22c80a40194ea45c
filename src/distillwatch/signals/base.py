"""Signal plugin base class and registry (after presidio's recognizer registry and garak's plugins).

A signal is a small, registered, documented unit with a stable ``id``. Its description is the
first line of its docstring. Three scopes:

* ``request`` signals add columns to the per-request feature table (SQL expressions);
* ``account`` signals turn per-account features into a score in [0, 1] with evidence;
* ``campaign`` signals are cross-account: computed over a linked group and applied to members.

Each signal belongs to one evidence *family* (content, infrastructure, behaviour, identity).
Scoring bans only when independent families agree.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, ClassVar

from distillwatch.schema import FAMILIES

SIGNALS: dict[str, type["Signal"]] = {}
"""Registry: signal id -> class. Filled by :func:`register`."""


def register(cls: type["Signal"]) -> type["Signal"]:
    """Class decorator adding a signal to :data:`SIGNALS`.

    Raises:
        ValueError: duplicate id, bad scope/family, or missing docstring.
    """
    if cls.id in SIGNALS:
        raise ValueError(f"duplicate signal id {cls.id!r}")
    if cls.scope not in ("request", "account", "campaign"):
        raise ValueError(f"{cls.id}: scope must be request, account or campaign")
    if cls.family not in FAMILIES:
        raise ValueError(f"{cls.id}: family must be one of {FAMILIES}")
    if not (cls.__doc__ or "").strip():
        raise ValueError(f"{cls.id}: a signal needs a docstring")
    SIGNALS[cls.id] = cls
    return cls


@dataclass
class SignalHit:
    """One signal's result for one entity (account or campaign).

    Attributes:
        signal_id: the signal's id.
        family: its evidence family.
        value: the measured quantity (unit given by the signal's docstring).
        score: 0..1, higher is more suspicious.
        evidence: a readable sentence with the numbers and thresholds behind the score.
        details: the raw numbers, for JSON outputs.
    """

    signal_id: str
    family: str
    value: float
    score: float
    evidence: str
    details: dict[str, Any] = field(default_factory=dict)


class Signal:
    """Base class. Subclasses set ``id``, ``scope``, ``family`` and a docstring.

    Constructors only store parameters (scikit-learn convention); defaults live in ``Params``.
    """

    id: ClassVar[str]
    scope: ClassVar[str]
    family: ClassVar[str]
    version: ClassVar[str] = "1"
    weight: ClassVar[float] = 1.0
    """Relative strength of this signal inside its family (0..1)."""

    @classmethod
    def description(cls) -> str:
        """First line of the docstring: used by ``distillwatch signals`` and reports."""
        return inspect.getdoc(cls).strip().splitlines()[0]


def ramp(x: float | None, lo: float, hi: float) -> float:
    """Linear score: 0 at or below ``lo``, 1 at or above ``hi`` (``hi < lo`` reverses direction)."""
    if x is None or x != x:  # None or NaN
        return 0.0
    if hi == lo:
        return float(x >= hi)
    t = (x - lo) / (hi - lo)
    return float(min(1.0, max(0.0, t)))
