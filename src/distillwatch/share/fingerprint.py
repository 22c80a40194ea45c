"""Keyed prompt-template fingerprints: share *that* a template was seen, never its text.

A template fingerprint is ``HMAC-SHA256(key, "distillwatch-template-v1" NUL normalise(skeleton))``
in lower-case hex, where the skeleton is the template text a scan mines
(:func:`distillwatch.features.request_features.mine_templates`: the request's recurring sentences
joined by ``' … '``). Two providers that agree on a key out of band compute equal fingerprints
for equal skeletons; without the key a fingerprint reveals nothing about the text and cannot be
tested against guessed templates. Anyone holding the key *can* test guesses, so give the key
only to partners you would trust with the template text itself.

Normalisation (:func:`normalise_skeleton`, version 1), applied in this order:

1. Unicode NFC (not NFKC: NFKC would turn the ``…`` separator into ``...``);
2. lower case (``str.lower``);
3. every run of ASCII digits ``[0-9]+`` becomes a single ``0`` (as the scanner does);
4. every run of whitespace becomes one space, and leading/trailing whitespace is removed.

The ``' … '`` (U+2026) slot separators between template sentences are kept. The scanner's
skeletons are already in this form, so normalising them changes nothing; the step exists so that
hand-written or partner-supplied skeletons hash the same way.

Key files (:func:`load_share_key`) hold at least 16 bytes, as one of:

* hex text (``openssl rand -hex 32 > share.key``; optional ``hex:`` prefix), the recommended form;
* base64 text (standard or URL-safe alphabet, padding optional; optional ``base64:`` prefix);
* raw binary bytes (``head -c 32 /dev/urandom > share.key``), used as they are.

Surrounding whitespace (a trailing newline) is ignored for the text forms. A file of printable
text that is neither hex nor base64 (a passphrase) is refused rather than hashed as raw bytes,
because an editor's trailing newline would then silently change the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import unicodedata
from pathlib import Path

from distillwatch.errors import InputError

NORMALISATION_VERSION = 1
"""Version of :func:`normalise_skeleton`; part of the HMAC's domain-separation prefix."""

MIN_KEY_BYTES = 16
"""Shortest accepted share key, in bytes."""

SLOT_SEPARATOR = " \u2026 "
"""Separator between template sentences in a skeleton (space, HORIZONTAL ELLIPSIS, space)."""

_PREFIX = b"distillwatch-template-v1\x00"
_KEY_ID_MESSAGE = b"distillwatch-key-id-v1"
_DIGITS = re.compile(r"[0-9]+")
_SPACE = re.compile(r"\s+")
_HEX = re.compile(r"[0-9a-fA-F]+")
_B64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")


def normalise_skeleton(text: str) -> str:
    """Return ``text`` in the canonical form that fingerprints are computed over (see module doc)."""
    s = unicodedata.normalize("NFC", text).lower()
    s = _DIGITS.sub("0", s)
    return _SPACE.sub(" ", s).strip()


def template_fingerprint(skeleton_text: str, key: bytes) -> str:
    """HMAC-SHA256 of the normalised template skeleton under ``key``, as 64 lower-case hex digits.

    Raises:
        ValueError: ``key`` is shorter than :data:`MIN_KEY_BYTES`.
        TypeError: ``skeleton_text`` is not a string.
    """
    _check_key(key, "share key")
    if not isinstance(skeleton_text, str):
        raise TypeError(f"skeleton_text must be str, not {type(skeleton_text).__name__}")
    msg = _PREFIX + normalise_skeleton(skeleton_text).encode("utf-8")
    return hmac.new(bytes(key), msg, hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """A 16-hex-digit public label of ``key`` (HMAC of a fixed message): lets partners see whether
    they hold the same key without revealing it. Written into template indicators."""
    _check_key(key, "share key")
    return hmac.new(bytes(key), _KEY_ID_MESSAGE, hashlib.sha256).hexdigest()[:16]


def load_share_key(path: str | Path) -> bytes:
    """Read a share key file (hex text, base64 text or raw bytes; see module doc).

    Raises:
        InputError (a ``ValueError``): the file is missing or unreadable, holds a passphrase-like
            text, or the key is shorter than :data:`MIN_KEY_BYTES` bytes. The message names the file.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"{p}: cannot read share key file: {exc.strerror or exc}") from exc
    key = _decode_key(raw, p)
    if len(key) < MIN_KEY_BYTES:
        raise InputError(f"{p}: share key is {len(key)} bytes; at least {MIN_KEY_BYTES} are required "
                         f"(create one with: openssl rand -hex 32 > {p.name})")
    return key


def _decode_key(raw: bytes, p: Path) -> bytes:
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return raw  # binary key
    low = text.lower()
    if low.startswith("hex:"):
        return _from_hex(text[4:].strip(), p)
    if low.startswith("base64:"):
        return _from_b64(text[7:].strip(), p)
    if text and len(text) % 2 == 0 and _HEX.fullmatch(text):
        return bytes.fromhex(text)
    if text and _B64.fullmatch(text):
        return _from_b64(text, p)
    if raw and all(32 <= b < 127 or b in (9, 10, 13) for b in raw):
        raise InputError(f"{p}: share key file holds text that is neither hex nor base64; write the key as "
                         f"hex (openssl rand -hex 32) or base64, or as raw binary bytes")
    return raw


def _from_hex(text: str, p: Path) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise InputError(f"{p}: share key marked hex: is not valid hex") from exc


def _from_b64(text: str, p: Path) -> bytes:
    t = text.replace("-", "+").replace("_", "/")
    t += "=" * (-len(t) % 4)
    try:
        return base64.b64decode(t, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"{p}: share key is not valid base64") from exc


def _check_key(key: bytes, what: str) -> None:
    if not isinstance(key, (bytes, bytearray)):
        raise TypeError(f"{what} must be bytes, not {type(key).__name__}")
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"{what} is {len(key)} bytes; at least {MIN_KEY_BYTES} are required")
