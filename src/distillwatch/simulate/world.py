"""Shared machinery of the simulator: time, places, identities, clients, models, requests.

Every archetype generator receives a ``World`` (the window, the release plan, the corpora,
the IP intelligence) and its own ``numpy.random.Generator``; it returns ``Account`` objects
and request rows (dicts in the input contract, with the time as epoch seconds in ``"_t"``
until the writer formats it).
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol, Sequence

import numpy as np
import orjson

from distillwatch.corpora import Corpora, Prompt
from distillwatch.intel import IntelError

DAY = 86400.0
HOUR = 3600.0

# ------------------------------------------------------------------------------------
# places: country -> (UTC offsets in late April with weights), weight among casual users
# ------------------------------------------------------------------------------------
COUNTRY_TZ: dict[str, tuple[tuple[float, float], ...]] = {
    "US": ((-4, 0.47), (-5, 0.29), (-6, 0.06), (-7, 0.18)),
    "CA": ((-4, 0.6), (-6, 0.1), (-7, 0.3)),
    "MX": ((-6, 1.0),), "BR": ((-3, 1.0),), "AR": ((-3, 1.0),), "CO": ((-5, 1.0),), "CL": ((-4, 1.0),),
    "GB": ((1, 1.0),), "IE": ((1, 1.0),), "PT": ((1, 1.0),), "NG": ((1, 1.0),),
    "DE": ((2, 1.0),), "FR": ((2, 1.0),), "ES": ((2, 1.0),), "IT": ((2, 1.0),), "NL": ((2, 1.0),),
    "PL": ((2, 1.0),), "SE": ((2, 1.0),), "CH": ((2, 1.0),), "BE": ((2, 1.0),), "AT": ((2, 1.0),),
    "CZ": ((2, 1.0),), "ZA": ((2, 1.0),),
    "UA": ((3, 1.0),), "TR": ((3, 1.0),), "IL": ((3, 1.0),), "KE": ((3, 1.0),), "SA": ((3, 1.0),),
    "GR": ((3, 1.0),), "RO": ((3, 1.0),), "FI": ((3, 1.0),), "EG": ((3, 1.0),),
    "AE": ((4, 1.0),), "PK": ((5, 1.0),), "IN": ((5.5, 1.0),), "BD": ((6, 1.0),),
    "VN": ((7, 1.0),), "TH": ((7, 1.0),), "ID": ((7, 0.75), (8, 0.25)),
    "SG": ((8, 1.0),), "MY": ((8, 1.0),), "PH": ((8, 1.0),), "HK": ((8, 1.0),), "TW": ((8, 1.0),),
    "JP": ((9, 1.0),), "KR": ((9, 1.0),), "AU": ((10, 0.8), (8, 0.2)), "NZ": ((12, 1.0),),
}
CASUAL_COUNTRY_WEIGHTS: dict[str, float] = {
    "US": 22, "IN": 9, "GB": 5, "BR": 5, "DE": 4, "CA": 3.5, "FR": 3, "JP": 3, "KR": 2.5, "ID": 2.5, "MX": 2.5,
    "ES": 2, "IT": 2, "PH": 2, "AU": 2, "VN": 1.8, "TR": 1.8, "NL": 1.5, "PL": 1.5, "NG": 1.5, "PK": 1.4,
    "EG": 1.2, "AR": 1.2, "CO": 1.2, "TW": 1.0, "UA": 1.0, "TH": 1.0, "MY": 1.0, "SE": 0.8, "ZA": 0.8,
    "SG": 0.8, "IL": 0.7, "CH": 0.6, "BE": 0.6, "AT": 0.5, "CZ": 0.5, "RO": 0.5, "GR": 0.4, "KE": 0.5,
    "SA": 0.6, "AE": 0.6, "BD": 0.7, "PT": 0.5, "IE": 0.4, "CL": 0.6, "FI": 0.3, "HK": 0.6, "NZ": 0.3,
}
"""Roughly proportional to public web-traffic shares of a large chat service; a shape, not data."""

FREE_MAIL = ("gmail.com", "gmail.com", "gmail.com", "gmail.com", "outlook.com", "hotmail.com", "yahoo.com",
             "icloud.com", "proton.me")
COUNTRY_MAIL: dict[str, tuple[str, ...]] = {
    "DE": ("gmx.de", "web.de", "t-online.de"), "FR": ("orange.fr", "free.fr", "laposte.net"),
    "JP": ("yahoo.co.jp", "docomo.ne.jp"), "KR": ("naver.com", "daum.net"), "BR": ("uol.com.br", "bol.com.br"),
    "IT": ("libero.it", "virgilio.it"), "GB": ("btinternet.com", "yahoo.co.uk"), "IN": ("rediffmail.com",),
    "PL": ("wp.pl", "o2.pl"), "CZ": ("seznam.cz",), "TR": ("yandex.com.tr",), "UA": ("ukr.net",),
    "ES": ("yahoo.es",), "MX": ("yahoo.com.mx", "hotmail.es"), "AU": ("bigpond.com",), "VN": ("yahoo.com.vn",),
}

_WORDS_A = ("north", "blue", "bright", "iron", "quiet", "swift", "clear", "silver", "deep", "open", "red", "green",
            "true", "prime", "lucid", "stone", "cedar", "harbor", "summit", "pixel", "vector", "nimbus", "delta",
            "lumen", "atlas", "orbit", "kite", "maple", "river", "granite")
_WORDS_B = ("labs", "works", "soft", "data", "systems", "tech", "studio", "analytics", "logic", "cloud", "forge",
            "apps", "digital", "ventures", "dev", "hq", "ai", "code", "metrics", "stack")
_TLDS = (".com", ".com", ".com", ".io", ".io", ".ai", ".dev", ".co", ".net", ".app", ".tech")


def company_domain(rng: np.random.Generator) -> str:
    """A made-up company email domain such as ``bluelabs.io`` or ``iron-forge.ai``.

    Two words from the module's word lists (a hyphen between them 20 % of the time) and a TLD;
    the lists are the project's own, so a result may or may not exist as a real domain.
    """
    a = _WORDS_A[int(rng.integers(len(_WORDS_A)))]
    b = _WORDS_B[int(rng.integers(len(_WORDS_B)))]
    sep = "-" if rng.random() < 0.2 else ""
    return f"{a}{sep}{b}{_TLDS[int(rng.integers(len(_TLDS)))]}"


def personal_mail(rng: np.random.Generator, country: str) -> str:
    """A free-mail domain for a user in ``country`` (ISO 3166-1 alpha-2).

    A national provider from ``COUNTRY_MAIL`` 35 % of the time when the country has one, else
    one of ``FREE_MAIL`` (Gmail weighted 4 of 9). Shares are the project's rough choice.
    """
    local = COUNTRY_MAIL.get(country)
    if local and rng.random() < 0.35:
        return local[int(rng.integers(len(local)))]
    return FREE_MAIL[int(rng.integers(len(FREE_MAIL)))]


def utc_offset(rng: np.random.Generator, country: str) -> float:
    """A UTC offset in hours (e.g. ``-4.0``, ``5.5``) for a user in ``country``.

    Drawn from the late-April (daylight-saving) offsets of ``COUNTRY_TZ`` with its rough
    population weights (the project's estimate); ``0.0`` for a country not listed.
    """
    opts = COUNTRY_TZ.get(country, ((0.0, 1.0),))
    w = np.array([o[1] for o in opts], float)
    return float(opts[int(rng.choice(len(opts), p=w / w.sum()))][0])


# ------------------------------------------------------------------------------------
# diurnal profiles (local hour -> relative weight)
# ------------------------------------------------------------------------------------
HUMAN_HOURS = np.array([0.8, 0.5, 0.3, 0.2, 0.15, 0.2, 0.4, 0.8, 1.3, 1.8, 2.1, 2.2,
                        2.0, 2.0, 2.1, 2.1, 2.0, 1.8, 1.7, 1.9, 2.1, 2.0, 1.6, 1.2])
WORK_HOURS = np.array([0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.2, 0.5, 1.5, 2.5, 2.8, 2.6,
                       1.6, 2.4, 2.7, 2.6, 2.3, 1.5, 0.8, 0.6, 0.6, 0.5, 0.3, 0.2])
STUDENT_HOURS = np.array([1.2, 0.8, 0.4, 0.2, 0.1, 0.1, 0.2, 0.4, 0.8, 1.2, 1.5, 1.6,
                          1.5, 1.8, 2.0, 2.0, 1.8, 1.5, 1.4, 1.8, 2.2, 2.4, 2.2, 1.8])
FLAT_HOURS = np.ones(24)
GLOBAL_PRODUCT_HOURS = np.array([0.7, 0.6, 0.55, 0.55, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.15, 1.2,
                                 1.25, 1.3, 1.35, 1.35, 1.3, 1.25, 1.2, 1.1, 1.0, 0.9, 0.8, 0.75])
"""A product with users on several continents, in UTC: busy but never idle."""


def sample_hours(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """n fractional hours of the day (0 <= h < 24) drawn from an hourly weight profile."""
    p = np.asarray(weights, float)
    h = rng.choice(24, size=n, p=p / p.sum())
    return h + rng.random(n)


# ------------------------------------------------------------------------------------
# identities
# ------------------------------------------------------------------------------------
_ALNUM = np.array(list(string.ascii_letters + string.digits))


def hex_id(rng: np.random.Generator, prefix: str, n_hex: int = 16) -> str:
    """``prefix`` followed by ``n_hex`` random lowercase hex digits (``4 * n_hex`` bits)."""
    return prefix + rng.bytes((n_hex + 1) // 2).hex()[:n_hex]


def alnum_id(rng: np.random.Generator, prefix: str, n: int = 16) -> str:
    """``prefix`` followed by ``n`` random ASCII letters and digits (62 symbols)."""
    return prefix + "".join(_ALNUM[rng.integers(len(_ALNUM), size=n)])


def new_account_id(rng: np.random.Generator) -> str:
    """A new account id: ``acct_`` and 16 hex digits (64 random bits), the same for every archetype."""
    return hex_id(rng, "acct_", 16)


def new_key_id(rng: np.random.Generator) -> str:
    """A new API key id: ``key_`` and 12 hex digits (48 random bits)."""
    return hex_id(rng, "key_", 12)


def new_org_id(rng: np.random.Generator) -> str:
    """A new organisation id: ``org-`` and 20 random letters and digits."""
    return alnum_id(rng, "org-", 20)


def new_card(rng: np.random.Generator) -> str:
    """A new payment fingerprint: ``pmfp_`` and 16 random letters and digits (opaque, no card data)."""
    return alnum_id(rng, "pmfp_", 16)


# ------------------------------------------------------------------------------------
# clients: user agents and their default parameters
# ------------------------------------------------------------------------------------
def _pick(rng: np.random.Generator, seq: Sequence[Any]) -> Any:
    return seq[int(rng.integers(len(seq)))]


def browser_ua(rng: np.random.Generator) -> str:
    """A desktop browser user agent: Chrome 120-125, Edge, Firefox 122-126 or Safari 17.

    Follows the browsers' published user-agent formats on Windows, macOS and Linux; the version
    ranges (early 2024) and the mix (Chrome-heavy) are the project's choice.
    """
    chrome = int(rng.integers(120, 126))
    ff = int(rng.integers(122, 127))
    saf = _pick(rng, ("17.3.1", "17.4", "17.4.1", "17.2.1"))
    return _pick(rng, (
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome}.0.0.0 "
        "Safari/537.36",
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome}.0.0.0 "
        "Safari/537.36",
        f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome}.0.0.0 "
        "Safari/537.36",
        f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{saf} "
        "Safari/605.1.15",
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{ff}.0) Gecko/20100101 Firefox/{ff}.0",
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome}.0.0.0 "
        f"Safari/537.36 Edg/{chrome}.0.0.0",
        f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome}.0.0.0 Safari/537.36",
    ))


def mobile_ua(rng: np.random.Generator) -> str:
    """A mobile user agent: iOS Safari, Android Chrome, a chat app or Android's Dalvik client.

    The app names (``Chatly``, ``AskPal``, ``Mindful AI``) are invented; the browser and Dalvik
    strings follow the real formats.
    """
    ios = _pick(rng, ("17_4_1", "17_4", "17_3_1", "16_7_7"))
    android = int(rng.integers(12, 15))
    app = _pick(rng, ("Chatly", "AskPal", "Mindful AI"))
    build = f"{int(rng.integers(2, 6))}.{int(rng.integers(0, 20))}.{int(rng.integers(0, 5))}"
    return _pick(rng, (
        f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        f"Version/{ios.replace('_', '.')[:4]} Mobile/15E148 Safari/604.1",
        f"Mozilla/5.0 (Linux; Android {android}; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{int(rng.integers(120, 126))}.0.0.0 Mobile Safari/537.36",
        f"{app}/{build} (iPhone; iOS {ios.replace('_', '.')}; Scale/3.00)",
        f"{app}/{build} (Android {android}; {_pick(rng, ('Pixel 8', 'SM-S918B', 'SM-A546E', '2201117TG'))})",
        f"Dalvik/2.1.0 (Linux; U; Android {android}; {_pick(rng, ('Pixel 7', 'SM-G991B', 'M2101K6G'))} Build/"
        f"{_pick(rng, ('UP1A.231005.007', 'TP1A.220624.014', 'AP1A.240405.002'))})",
    ))


def sdk_ua(rng: np.random.Generator) -> str:
    """A user agent of an HTTP client or LLM SDK as developers send it."""
    return _pick(rng, (
        f"OpenAI/Python 1.{int(rng.integers(25, 56))}.{int(rng.integers(0, 4))}",
        f"OpenAI/Python 1.{int(rng.integers(25, 56))}.{int(rng.integers(0, 4))}",
        f"OpenAI/Python 1.{int(rng.integers(25, 56))}.{int(rng.integers(0, 4))}",
        f"OpenAI/JS 4.{int(rng.integers(40, 72))}.{int(rng.integers(0, 4))}",
        f"OpenAI/JS 4.{int(rng.integers(40, 72))}.{int(rng.integers(0, 4))}",
        f"Anthropic/Python 0.{int(rng.integers(25, 40))}.{int(rng.integers(0, 3))}",
        f"python-requests/2.{int(rng.integers(28, 33))}.{int(rng.integers(0, 4))}",
        f"python-httpx/0.{int(rng.integers(25, 28))}.{int(rng.integers(0, 3))}",
        f"axios/1.{int(rng.integers(6, 8))}.{int(rng.integers(0, 10))}",
        f"curl/8.{int(rng.integers(4, 8))}.{int(rng.integers(0, 2))}",
        "okhttp/4.12.0",
        "Go-http-client/2.0",
    ))


# ------------------------------------------------------------------------------------
# models and releases
# ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Adoption:
    """How an actor moves to the new model: from ``release + lag_h`` the share of its
    requests on the new model ramps towards ``share`` with time constant ``ramp_h``."""

    lag_h: float = 48.0
    share: float = 0.3
    ramp_h: float = 48.0

    def p_new(self, t: np.ndarray, release: float) -> np.ndarray:
        """Probability that a request at time ``t`` goes to the new model.

        Args:
            t: UTC epoch seconds (scalar or array).
            release: the new model's release time, UTC epoch seconds.

        Returns:
            Array shaped like ``t``: ``share * (1 - exp(-dt / ramp_h))`` with ``dt`` the hours since
            ``release + lag_h``, and 0 before that.
        """
        dt = (np.asarray(t, float) - release) / HOUR - self.lag_h
        ramp = 1.0 - np.exp(-np.clip(dt, 0, None) / max(self.ramp_h, 1e-6))
        return np.where(dt >= 0, self.share * ramp, 0.0)


NO_ADOPTION = Adoption(lag_h=1e9, share=0.0, ramp_h=1.0)


@dataclass(frozen=True)
class WorldParams:
    """Models and the release inside the window.

    Attributes:
        old_model, mini_model: released well before the window.
        new_model: released ``release_at_day`` days after the window starts.
    """

    old_model: str = "aurora-2"
    mini_model: str = "aurora-2-mini"
    new_model: str = "aurora-3"
    old_released: str = "2025-10-14T17:00:00Z"
    release_at_day: float = 7.7  # day 7, 16:48 UTC
    p_429: float = 0.006
    p_500: float = 0.003
    epoch_ms_share: float = 0.2
    """Share of rows whose timestamp is written as integer epoch ms (a second log writer)."""


@dataclass
class Account:
    """One simulated account and its ground truth.

    Attributes:
        account_id: ``acct_`` plus 16 hex digits.
        archetype: scenario name, e.g. ``attack:hydra`` (the ``campaign`` column of ``truth.csv``).
        label: ``benign`` or ``attack``.
        created_at: signup time, UTC epoch seconds.
        email_domain: domain of the signup email.
        payment_fingerprint: opaque card fingerprint, or None (no card on file).
        billing_country: ISO 3166-1 alpha-2 code.
        org_id: organisation id, or None.
        verification: ``none``, ``email``, ``startup``, ``verified_org``, ``research`` or ``edu``.
        signup_ip: the IP the account signed up from.
        api_keys: ids of the account's API keys.
    """

    account_id: str
    archetype: str
    label: str
    created_at: float
    email_domain: str
    payment_fingerprint: str | None
    billing_country: str
    org_id: str | None
    verification: str
    signup_ip: str
    api_keys: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """The account's row of ``accounts.jsonl`` (``docs/input-format.md``).

        ``created_at`` is RFC 3339 UTC with milliseconds; ``archetype``, ``label`` and ``api_keys``
        are left out (the label goes to ``truth.csv`` only).
        """
        return {
            "account_id": self.account_id,
            "created_at": iso(self.created_at),
            "email_domain": self.email_domain,
            "payment_fingerprint": self.payment_fingerprint,
            "billing_country": self.billing_country,
            "org_id": self.org_id,
            "verification": self.verification,
            "signup_ip": self.signup_ip,
        }


def iso(t: float) -> str:
    """Format UTC epoch seconds as RFC 3339 with milliseconds and ``Z``.

    Example: ``iso(0.5)`` is ``"1970-01-01T00:00:00.500Z"``; ``t`` is rounded to the millisecond.

    Raises:
        OverflowError, OSError, ValueError: ``t`` is outside the range ``datetime`` supports.
    """
    ms = int(round(t * 1000))
    dt = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def parse_time(s: str) -> float:
    """Parse an ISO 8601 / RFC 3339 time (``Z`` allowed) into UTC epoch seconds.

    A string without an offset is read as the machine's local time (``datetime.astimezone``).

    Raises:
        ValueError: ``s`` is not an ISO 8601 time (``datetime.fromisoformat``).
    """
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(timezone.utc).timestamp()


# ------------------------------------------------------------------------------------
# tokens
# ------------------------------------------------------------------------------------
def tools_chars(tools: list[dict] | None) -> int:
    """Size of the tool schemas as compact JSON (``orjson``), in UTF-8 bytes; 0 for None or [].

    Raises:
        orjson.JSONEncodeError: ``tools`` is not JSON-serialisable.
    """
    return len(orjson.dumps(tools)) if tools else 0


def estimate_input_tokens(messages: list[dict] | None, prompt: str | None, tools: list[dict] | None) -> int:
    """Characters / 4, plus a few tokens of chat framing per message: the usual rule of thumb."""
    chars = len(prompt) if prompt else 0
    n_msgs = 0
    for m in messages or ():
        chars += len(m["content"])
        n_msgs += 1
    chars += tools_chars(tools)
    return int(math.ceil(chars / 4)) + 4 * n_msgs + 3


def lognormal_tokens(rng: np.random.Generator, median: float, sigma: float, cap: int, floor: int = 1) -> int:
    """A token count ``median * exp(sigma * N(0, 1))``, rounded and clipped to ``[floor, cap]``.

    Args:
        rng: one standard-normal draw is taken from it.
        median: median in tokens; sigma: standard deviation of the log (dimensionless).
        cap, floor: bounds in tokens (``cap`` is usually the request's ``max_tokens``).
    """
    return int(min(cap, max(floor, round(median * math.exp(sigma * rng.standard_normal())))))


# ------------------------------------------------------------------------------------
# the world
# ------------------------------------------------------------------------------------
@dataclass
class World:
    """The simulated window, its models, corpora and IP intelligence."""

    t0: float
    days: int
    corpora: Corpora
    intel: Any
    params: WorldParams
    scale: float

    @property
    def t1(self) -> float:
        """End of the window (exclusive), UTC epoch seconds: ``t0 + days * 86400``."""
        return self.t0 + self.days * DAY

    @property
    def release(self) -> float:
        """Release time of the new model, UTC epoch seconds: ``t0 + release_at_day`` days."""
        return self.t0 + self.params.release_at_day * DAY

    def releases(self) -> list[dict[str, str]]:
        """The rows of ``releases.jsonl``: ``{model, released_at}`` for the old, mini and new model.

        The old and mini models carry ``params.old_released`` as given; the new one ``iso(release)``.
        """
        p = self.params
        return [
            {"model": p.old_model, "released_at": p.old_released},
            {"model": p.mini_model, "released_at": p.old_released},
            {"model": p.new_model, "released_at": iso(self.release)},
        ]

    def in_window(self, t: np.ndarray) -> np.ndarray:
        """Boolean mask shaped like ``t`` (UTC epoch seconds): ``t0 <= t < t1``."""
        t = np.asarray(t, float)
        return (t >= self.t0) & (t < self.t1)

    def local_day_start(self, day: int, offset_h: float) -> float:
        """UTC epoch seconds of local midnight of window day ``day`` at UTC offset ``offset_h``."""
        return self.t0 + day * DAY - offset_h * HOUR

    def weekday(self, day: int) -> int:
        """Weekday of window day ``day`` (0-based), Monday 0 to Sunday 6, taken at 12:00 UTC."""
        return datetime.fromtimestamp(self.t0 + day * DAY + 12 * HOUR, tz=timezone.utc).weekday()

    # ---- models ------------------------------------------------------------------
    def models_for(self, rng: np.random.Generator, t: np.ndarray, adoption: Adoption,
                   p_mini: float = 0.0) -> list[str]:
        """One model per time in ``t``: the new model with the adoption probability, else the
        small model with ``p_mini``, else the established model."""
        return [self.model_at(rng, float(x), adoption, p_mini) for x in np.atleast_1d(t)]

    def model_at(self, rng: np.random.Generator, t: float, adoption: Adoption, p_mini: float = 0.0) -> str:
        """The model of one request at ``t`` (UTC epoch seconds).

        The new model with the ``adoption`` probability (as ``Adoption.p_new``), else the mini model
        with ``p_mini``, else the old model. Always takes exactly two uniform draws from ``rng``.
        """
        dt = (t - self.release) / HOUR - adoption.lag_h
        p_new = adoption.share * (1.0 - math.exp(-dt / max(adoption.ramp_h, 1e-6))) if dt >= 0 else 0.0
        u, v = rng.random(), rng.random()
        p = self.params
        return p.new_model if u < p_new else (p.mini_model if v < p_mini else p.old_model)

    # ---- corpora -----------------------------------------------------------------
    def pick(self, rng: np.random.Generator, kind: str, fallback: Sequence[str] = ()) -> Prompt:
        """A random prompt of ``kind``; if that kind is empty, of the first non-empty fallback kind."""
        for k in (kind, *fallback, "benign_chat", "coding", "tool_use", "agentic_multiturn", "maths"):
            items = self.corpora.kind(k)
            if items:
                return items[int(rng.integers(len(items)))]
        raise RuntimeError("corpora are empty")

    def has(self, kind: str) -> bool:
        """Whether the corpora hold at least one prompt of ``kind``.

        Raises:
            KeyError: ``kind`` is not one of ``corpora.KINDS``.
        """
        return bool(self.corpora.kind(kind))

    # ---- IPs ---------------------------------------------------------------------
    def ips(self, kind: str, n: int, rng: np.random.Generator, country: str | None = None) -> list[str]:
        """``n`` IPv4 addresses of ``kind`` from the IP intelligence (``IntelDB.sample_ips``).

        Args:
            kind: ``residential``, ``mobile``, ``datacenter``, ``cloud``, ``cloud:<provider>``,
                ``vpn`` or ``tor``.
            n: number of addresses; ``n <= 0`` gives ``[]`` without drawing.
            rng: the archetype's generator.
            country: ISO 3166-1 alpha-2 code to prefer; when no range of ``kind`` is in that
                country, any country is used.

        Returns:
            ``n`` dotted-quad strings (drawn with replacement).

        Raises:
            IntelError: unknown kind, or no loaded range serves ``kind`` in any country.
        """
        if n <= 0:
            return []
        if country is not None:
            try:
                return list(self.intel.sample_ips(kind, n, rng, country=country))
            except IntelError:  # no range of that kind in that country: any country will do
                pass
        return list(self.intel.sample_ips(kind, n, rng))

    def same_prefix(self, ip: str, n: int, rng: np.random.Generator) -> list[str]:
        """``n`` addresses in the same /24 (IPv4) or /48 (IPv6) as ``ip`` (``IntelDB.same_prefix_ips``).

        Raises:
            IntelError: ``ip`` is not an IP address or network. ValueError: ``n < 0``.
        """
        return list(self.intel.same_prefix_ips(ip, n, rng))


def request_row(t: float, acct: Account, *, key: str, ip: str, ua: str, model: str,
                messages: list[dict] | None = None, prompt: str | None = None, tools: list[dict] | None = None,
                max_tokens: int, temperature: float, stream: bool, out_tokens: int,
                status: int = 200) -> dict[str, Any]:
    """One request in the input contract (``request_id`` and ``timestamp`` are set by the writer)."""
    row: dict[str, Any] = {
        "_t": float(t),
        "account_id": acct.account_id,
        "api_key_id": key,
        "org_id": acct.org_id,
        "client_ip": ip,
        "user_agent": ua,
        "model": model,
    }
    if prompt is not None:
        row["prompt"] = prompt
    else:
        row["messages"] = messages
    if tools:
        row["tools"] = tools
    row["max_tokens"] = int(max_tokens)
    row["temperature"] = float(temperature)
    row["stream"] = bool(stream)
    row["input_tokens"] = estimate_input_tokens(messages, prompt, tools)
    row["output_tokens"] = int(min(out_tokens, max_tokens)) if status == 200 else 0
    row["status"] = int(status)
    return row


class ArchetypeGenerator(Protocol):
    """The signature every ``gen_*`` function in ``benign.py`` and ``campaigns.py`` follows."""

    def __call__(self, world: "World", p: Any, rng: np.random.Generator, name: str) -> tuple[list, list]:
        """Generate one archetype's accounts and requests.

    Args:
        world: the window, corpora and IP intelligence.
        p: the archetype's parameters.
        rng: the archetype's own generator (the output is a deterministic function of its state).
        name: archetype name, written to ``Account.archetype`` (the ``campaign`` of ``truth.csv``).

    Returns:
        ``(accounts, rows)``: a list of ``Account`` and a list of request rows (``request_row``
        dicts, time in ``"_t"`` as UTC epoch seconds, all ``status`` 200). Rows may fall outside
        the window; ``simulate`` adds 429 / 500 rows and keeps ``t0 <= _t < t1``.

    Raises:
        IntelError: the IP intelligence cannot serve a needed address kind in any country
            (a missing country alone falls back to any country, see ``World.ips``).
        RuntimeError: every corpus kind is empty (``World.pick``).
        """
