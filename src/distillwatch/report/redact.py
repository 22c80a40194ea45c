"""PII and secret redaction for text shown in reports and dossiers.

:func:`redact` replaces (applied in the order e-mails, named key formats and assignments, IP
addresses, long hex/base64 tokens, card numbers, phone numbers):

============  ================================================================================
placeholder   what
============  ================================================================================
``[EMAIL]``   ``local@domain.tld`` addresses
``[API_KEY]`` provider keys and tokens: ``sk-…`` (OpenAI/Anthropic style), ``AKIA…``/``ASIA…``
              (AWS access key ids), ``ghp_…``/``github_pat_…``, ``xox?-…`` (Slack), ``AIza…``
              (Google), ``hf_…``, ``glpat-…``, Stripe ``sk_live_…``/``rk_live_…``, JWTs
              (``eyJ….eyJ….…``), the value after ``Bearer``/``Basic``/``Token`` when it looks
              like a credential, the value after ``api_key=`` / ``secret:`` / ``token=`` /
              ``password=``-like assignments (also ``pwd``, ``passcode``, ``passphrase``), a
              password given in words ("my password is Secret123!", "password as 'x1y2'",
              "password 'john0'": quoted, or holding a digit or a symbol), hex runs of 32+ characters that mix letters and
              digits, and base64/url-safe runs of 32+ characters that mix upper case, lower case
              and digits, look random (entropy ≥ 3.8 bits a character) and are not mostly words
``[IP]``      IPv4 dotted quads (each part 0-255, not inside a longer dotted run like a version
              number) and IPv6 addresses that ``ipaddress`` accepts (compressed forms need a
              group of 3+ hex digits, an embedded IPv4, or to be ``::1``, so ``a::b`` stays)
``[CARD]``    13-19 digits, contiguous or in the usual card groupings (4-4-4-4[-1..3], 4-6-5,
              4-6-4) with one kind of separator, that pass the Luhn check
``[PHONE]``   ``+`` country code and 7-14 more digits with spaces, dots, dashes or brackets;
              North-American ``(555) 123-4567`` / ``555-123-4567`` / ``555.123.4567``
============  ================================================================================

Version numbers (``1.2.3``), years and date ranges, times, short numbers and ordinary long words
are left alone. Redaction is a best-effort safety net for showing log excerpts, not a guarantee;
the dossier shows only shortened, redacted excerpts.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter

EMAIL = "[EMAIL]"
PHONE = "[PHONE]"
API_KEY = "[API_KEY]"
IP = "[IP]"
CARD = "[CARD]"
PLACEHOLDERS = (EMAIL, PHONE, API_KEY, IP, CARD)

_EMAIL_RE = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}\b")

_KEY_RES = [
    re.compile(r"\bsk-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_-]{16,}"),          # sk-..., sk-proj-..., sk-ant-api03-...
    re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"),      # Stripe
    re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b"),  # AWS key ids
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),                       # GitHub tokens
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{30,}"),
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),                    # Slack
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),                             # Google API key
    re.compile(r"\bhf_[A-Za-z0-9]{30,}"),                               # Hugging Face
    re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"),                          # GitLab
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),  # JWT
]
_AUTH_RE = re.compile(r"\b(Bearer|bearer|BEARER|Basic|Token|token)(\s+)([A-Za-z0-9._~+/=-]{8,})")
_PASS = r"pass(?:word|wd|code|phrase)"
"""password, passwd, passcode, passphrase: the words (with ``pwd``) that name a password, in
:data:`_ASSIGN_RE`, :data:`_SAID_RE` and :data:`_QUOTED_RE`."""
_ASSIGN_RE = re.compile(
    r"(?i)\b((?:[a-z0-9]+[_-])*(?:api[_-]?key|apikey|secret|secret[_-]?key|access[_-]?token|auth[_-]?token|token|"
    rf"{_PASS}|pwd|client[_-]?secret|private[_-]?key)[\"']?\s*[:=]\s*[\"']?)"
    r"(?!\[)([^\s\"',;}]{5,}[^\s\"',;}.:)\]])")
_SAID_RE = re.compile(
    rf"(?i)\b({_PASS}s?|pwd)(\s+(?:is|was|as|=|:|set to|will be|should be)\s+)"
    r"(?:([\"'`])(?!\[)([^\"'`\s]{4,})\3|(?!\[)(?=[^\s\"'`,;]*[\d!@#$%^&*_+=~?])([^\s\"'`,;]{4,}?)(?=[.,;:)]?(?:\s|$)))")
"""A password given in words: "my password is Secret123!", "password as 'securePass123'". The value
is redacted when it is quoted, or when it holds a digit or a symbol (so "the password is required"
stays)."""
_QUOTED_RE = re.compile(rf"(?i)\b({_PASS}s?|pwd)(\s+)([\"'`])(?!\[)([^\"'`\s]{{4,}})\3")
"""A quoted password right after the word, with no linking word: "username 'john' and password 'john0'"."""


def _said(m: re.Match) -> str:
    """Replacement for :data:`_SAID_RE` and :data:`_QUOTED_RE` (groups: word, gap, quote, value)."""
    if m.group(3):
        return m.group(1) + m.group(2) + m.group(3) + API_KEY + m.group(3)
    return m.group(1) + m.group(2) + API_KEY


_HEX_RE = re.compile(r"(?<![A-Za-z0-9_])(?=[0-9a-fA-F]*[a-fA-F])(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]{32,}(?![A-Za-z0-9_])")
_B64_RE = re.compile(r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/_=-])")

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4_RE = re.compile(rf"(?<![\w.])(?<!\d\.){_OCTET}(?:\.{_OCTET}){{3}}(?!\.?\d)(?![\w])")
_IPV6_CAND_RE = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4})"
                           r"(?:%[A-Za-z0-9]+)?(?![\w:]|\.\d)")

_CARD_RE = re.compile(
    r"(?<![\d.,-])(?:"
    r"\d{13,19}"
    r"|\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?"
    r"|\d{4}([ -])\d{6}\2\d{4,5}"
    r")(?![\d]|[.,-]\d)")

_PHONE_RES = [
    # international: +CC then groups; 8-15 digits in all
    re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,6}(?![\w])"),
    # North American: (555) 123-4567, 555-123-4567, 555.123.4567, 555 123 4567, optional leading 1
    re.compile(r"(?<![\w.+-])(?:1[ .-])?(?:\(\d{3}\)\s?|\d{3}([ .-]))\d{3}[ .-]\d{4}(?![\w]|[.-]\d)"),
]


def luhn_ok(digits: str) -> bool:
    """True when a digit string passes the Luhn check (ISO/IEC 7812-1), as payment card numbers do."""
    total, parity = 0, len(digits) % 2
    for i, ch in enumerate(digits):
        d = ord(ch) - 48
        if i % 2 == parity:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _entropy(s: str) -> float:
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def _looks_random(tok: str) -> bool:
    body = tok.rstrip("=")
    if not (re.search(r"[a-z]", body) and re.search(r"[A-Z]", body) and re.search(r"\d", body)):
        return False
    # paths and identifiers made of words: a long run of lowercase letters is a word, not a key
    if "/" in body and any(len(seg) >= 3 and seg.isalpha() and seg.islower() for seg in body.split("/")):
        return False
    # identifiers made of words (camelCase, PascalCase): mostly capitalised/lowercase word chunks
    words = sum(len(w) for w in re.findall(r"[A-Z]?[a-z]{3,}", body))
    if words > 0.5 * len(body):
        return False
    return _entropy(body) >= 3.8


def _auth(m: re.Match) -> str:
    tok = m.group(3)
    # a credential, not a word: a digit, a token punctuation mark, or upper case after the first letter
    if re.search(r"[\d._~+/=-]", tok) or re.search(r"[A-Z]", tok[1:]):
        return m.group(1) + m.group(2) + API_KEY
    return m.group(0)


def _card(m: re.Match) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    return CARD if 13 <= len(digits) <= 19 and luhn_ok(digits) else m.group(0)


def _ipv6(m: re.Match) -> str:
    s = m.group(0)
    if s == "::" or not re.search(r"[0-9A-Fa-f]", s):
        return s
    # compressed forms need one group of 3+ hex digits (fe80::1, 2001:db8::), an embedded IPv4, or
    # to be ::1, so that C++ scopes such as a::b stay
    if "::" in s and s != "::1" and "." not in s and not re.search(r"[0-9A-Fa-f]{3}", s):
        return s
    try:
        ipaddress.IPv6Address(s.split("%", 1)[0])
    except ValueError:
        return s
    return IP


def _phone(m: re.Match) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    return PHONE if 8 <= len(digits) <= 15 else m.group(0)


def redact(text: str | None) -> str:
    """Return ``text`` with e-mails, phone numbers, keys and secrets, IP addresses and card
    numbers replaced by ``[EMAIL]``, ``[PHONE]``, ``[API_KEY]``, ``[IP]`` and ``[CARD]``.

    ``None`` gives ``""``. Idempotent: redacting a redacted text changes nothing.
    """
    if not text:
        return ""
    s = _EMAIL_RE.sub(EMAIL, str(text))
    for rx in _KEY_RES:
        s = rx.sub(API_KEY, s)
    s = _AUTH_RE.sub(_auth, s)
    s = _ASSIGN_RE.sub(lambda m: m.group(1) + API_KEY, s)
    s = _SAID_RE.sub(_said, s)
    s = _QUOTED_RE.sub(_said, s)
    s = _IPV6_CAND_RE.sub(_ipv6, s)
    s = _IPV4_RE.sub(IP, s)
    s = _HEX_RE.sub(API_KEY, s)
    s = _B64_RE.sub(lambda m: API_KEY if _looks_random(m.group(0)) else m.group(0), s)
    s = _CARD_RE.sub(_card, s)
    for rx in _PHONE_RES:
        s = rx.sub(_phone, s)
    return s
