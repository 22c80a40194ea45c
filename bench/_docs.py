"""Rewrite one sub-section of docs/benchmarks.md owned by a realtime bench script.

The realtime section sits between ``<!-- realtime:start -->`` and ``<!-- realtime:end -->``;
inside it each script owns ``<!-- realtime:NAME:start -->`` ... ``<!-- realtime:NAME:end -->``.
Text outside the realtime section (other people's sections) is never touched; the file and the
section are created when absent.
"""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
OUTER = ("<!-- realtime:start -->", "<!-- realtime:end -->")


def write_section(name: str, markdown: str, doc: Path = DOC) -> None:
    """Replace sub-section ``name`` of the realtime section with ``markdown``."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    if OUTER[0] not in text or OUTER[1] not in text:
        text = text.rstrip("\n") + f"\n\n{OUTER[0]}\n## Real time at the gateway (issue 5)\n\n{OUTER[1]}\n"
    start, end = text.index(OUTER[0]), text.index(OUTER[1])
    inner = text[start + len(OUTER[0]):end]
    a, b = f"<!-- realtime:{name}:start -->", f"<!-- realtime:{name}:end -->"
    block = f"{a}\n{markdown.strip()}\n{b}"
    if a in inner and b in inner:
        inner = re.sub(re.escape(a) + r".*?" + re.escape(b), lambda _: block, inner, flags=re.S)
    else:
        inner = inner.rstrip("\n") + f"\n\n{block}\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text[:start + len(OUTER[0])] + inner + text[end:], encoding="utf-8")
