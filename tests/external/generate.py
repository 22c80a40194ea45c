"""Independent request-log generator for validating distillwatch.

Written without reading the project's own simulator, and with no imports from
``distillwatch``. Standard library + numpy (+ pyarrow only for Parquet output).

    generate(out_dir, seed, scale=1.0, fmt="jsonl") -> dict

writes into ``out_dir``:

* ``requests.jsonl`` (or ``requests.parquet``): one API request per row
* ``accounts.csv``: account metadata (CSV on purpose, to exercise that reader)
* ``releases.jsonl``: model release times
* ``truth.csv``: ``account_id,label,campaign`` ground truth

CLI: ``python tests/external/generate.py OUT_DIR --seed 7 --scale 1.0 --fmt jsonl``
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _sources as S  # type: ignore
    import _text as T  # type: ignore
else:
    from . import _sources as S
    from . import _text as T

DAY = 86400.0
HOUR = 3600.0
MIN = 60.0

T0 = datetime(2026, 3, 2, tzinfo=timezone.utc).timestamp()  # a Monday
N_DAYS = 21
T_END = T0 + N_DAYS * DAY
R_PRO3 = T0 + 10 * DAY + 16 * HOUR      # aurora-3-pro release: 2026-03-12T16:00Z
R_MINI3 = T0 + 16 * DAY + 15.5 * HOUR   # aurora-3-mini release: 2026-03-18T15:30Z

RELEASES = [
    ("aurora-1.5", "2025-06-10T17:00:00Z"),
    ("aurora-2-mini", "2025-11-04T17:00:00Z"),
    ("aurora-2-pro", "2025-11-04T17:00:00Z"),
    ("aurora-3-pro", "2026-03-12T16:00:00Z"),
    ("aurora-3-mini", "2026-03-18T15:30:00Z"),
]

# country -> (weight for ordinary users, candidate UTC offsets in hours)
COUNTRIES = {
    "US": (30, [-5, -5, -6, -7, -8, -8]), "IN": (10, [5.5]), "GB": (7, [0]), "DE": (7, [1]),
    "BR": (6, [-3]), "JP": (5, [9]), "FR": (5, [1]), "CA": (5, [-5, -8]), "KR": (4, [9]),
    "AU": (3, [10]), "ES": (3, [1]), "IT": (3, [1]), "NL": (3, [1]), "MX": (3, [-6]),
    "CH": (1, [1]), "SE": (1, [1]), "TW": (2, [8]), "TR": (2, [3]),
}

DIURNAL_CHAT = np.array([1.0, .6, .4, .3, .3, .4, .8, 1.5, 2.5, 3.5, 4.0, 4.2,
                         3.8, 3.6, 4.0, 4.0, 3.8, 3.4, 3.2, 3.6, 4.0, 3.6, 2.6, 1.6])
DIURNAL_WORK = np.array([.2, .1, .1, .1, .1, .2, .4, 1, 2.5, 4.5, 5, 5,
                         3.5, 4.5, 5, 5, 4.5, 3.5, 2, 1.5, 1.2, 1, .6, .3])
DIURNAL_STUDENT = np.array([2.0, 1.2, .5, .2, .1, .1, .2, .6, 1.5, 3, 3.5, 3.5,
                            3, 3.5, 3.5, 3.2, 3, 2.5, 2.5, 3, 3.5, 3.8, 3.5, 2.8])
DIURNAL_CHAT = DIURNAL_CHAT / DIURNAL_CHAT.sum()
DIURNAL_WORK = DIURNAL_WORK / DIURNAL_WORK.sum()
DIURNAL_STUDENT = DIURNAL_STUDENT / DIURNAL_STUDENT.sum()

RESPONSE_RATE = 0.3       # share of rows that carry a (truncated) response excerpt
RESPONSE_MAX_CHARS = 2000


def _est_tokens(text: str) -> int:
    return max(1, int(len(text) / 3.7) + 1)


class Gen:
    def __init__(self, seed: int, scale: float, data_dir):
        self.rng = np.random.default_rng(np.random.PCG64(seed))
        self.scale = float(scale)
        self.data = S.find_data_dir(data_dir)
        self.c = S.load_corpora(self.data)
        self.ip = S.load_ipintel(self.data)
        self.accounts: list[dict] = []
        self.rows: list[dict] = []
        self._ids: set[str] = set()
        self._domains_used: dict[str, int] = {}
        self.req_count: dict[str, int] = {}

    # ------------------------------------------------------------ utilities
    def n(self, x: float, lo: int = 1) -> int:
        return max(lo, int(round(x * self.scale)))

    def u(self, a=0.0, b=1.0) -> float:
        return float(self.rng.uniform(a, b))

    def p(self, prob: float) -> bool:
        return bool(self.rng.random() < prob)

    def pick(self, seq):
        return seq[int(self.rng.integers(0, len(seq)))]

    def wpick(self, items, weights):
        w = np.asarray(weights, dtype=float)
        return items[int(self.rng.choice(len(items), p=w / w.sum()))]

    def uid(self, prefix: str, nbytes: int) -> str:
        while True:
            s = prefix + self.rng.bytes(nbytes).hex()
            if s not in self._ids:
                self._ids.add(s)
                return s

    def company_domain(self, country: str, unique: bool = False) -> str:
        for _ in range(1000):
            name = self.pick(T.DOMAIN_A) + self.pick(T.DOMAIN_B)
            if self.p(0.35):
                name += self.pick(["", "-", ""]) + self.pick(T.DOMAIN_A + ["hq", "group", "team", "studio"])
            d = name + self.pick(T.DOMAIN_TLD.get(country, [".com"]))
            if not unique or d not in self._domains_used:
                self._domains_used[d] = self._domains_used.get(d, 0) + 1
                return d
        raise RuntimeError("domain space exhausted")

    def local_time(self, day: int, tz: float, profile: np.ndarray) -> float:
        hour = int(self.rng.choice(24, p=profile))
        return T0 + day * DAY + (hour + self.u()) * HOUR - tz * HOUR

    @staticmethod
    def weekday(t: float) -> int:
        return int(((t - T0) // DAY) % 7)  # 0 = Monday

    def out_tokens(self, mu: float, sigma: float, lo: int, hi: int, cap=None) -> int:
        v = int(math.exp(self.rng.normal(mu, sigma)))
        v = min(max(v, lo), hi)
        if cap:
            v = min(v, int(cap))
        return v

    def status(self, p429=0.003, p5xx=0.003, p400=0.001) -> int:
        r = self.rng.random()
        if r < p429:
            return 429
        if r < p429 + p5xx:
            return 500 if self.rng.random() < 0.7 else 529
        if r < p429 + p5xx + p400:
            return 400
        return 200

    # ------------------------------------------------------------ accounts
    def account(self, archetype: str, label: str, campaign: str, *, created: float, email_domain: str,
                payment: str, country: str, org: str, verification: str, signup_ip: str,
                tz: float = 0.0, n_keys: int = 1) -> dict:
        a = {
            "account_id": self.uid("acct_", 6),
            "created_at": created,
            "email_domain": email_domain,
            "payment_fingerprint": payment,
            "billing_country": country,
            "org_id": org,
            "verification": verification,
            "signup_ip": signup_ip,
            "_archetype": archetype, "_label": label, "_campaign": campaign, "_tz": tz,
        }
        a["_keys"] = [self.uid("key_", 8) for _ in range(n_keys)]
        self.accounts.append(a)
        return a

    # ------------------------------------------------------------ requests
    def emit(self, acct: dict, ts: float, ip: str | None, ua: str | None, model: str, *,
             messages=None, prompt=None, tools=None, max_tokens=None, temperature=None, stream=None,
             response: str | None = None, out_tokens: int = 100, status: int = 200, key=None,
             extra: dict | None = None):
        if ts < acct["created_at"]:
            ts = acct["created_at"] + self.u(60, 3600)
        if ts >= T_END or ts < T0:
            return
        row = {"request_id": self.uid("req_", 12), "timestamp": None, "account_id": acct["account_id"]}
        row["api_key_id"] = key or acct["_keys"][0]
        if acct["org_id"]:
            row["org_id"] = acct["org_id"]
        if ip is not None:
            row["client_ip"] = ip
        if ua is not None:
            row["user_agent"] = ua
        row["model"] = model
        text_len = 0
        if messages is not None:
            row["messages"] = messages
            text_len = sum(len(m["content"]) + 16 for m in messages)
        else:
            row["prompt"] = prompt
            text_len = len(prompt)
        if tools:
            row["tools"] = tools
            text_len += len(json.dumps(tools)) // 2
        if max_tokens is not None:
            row["max_tokens"] = int(max_tokens)
        if temperature is not None:
            row["temperature"] = float(temperature)
        if stream is not None:
            row["stream"] = bool(stream)
        ok = status == 200
        if ok and response and self.p(RESPONSE_RATE):
            row["response"] = response[:RESPONSE_MAX_CHARS]
        row["input_tokens"] = max(1, int(text_len / 3.7))
        row["output_tokens"] = int(out_tokens) if ok else 0
        if max_tokens and ok:
            row["output_tokens"] = min(row["output_tokens"], int(max_tokens))
        row["status"] = int(status)
        if extra:
            row.update(extra)
        row["_ts"] = ts
        row["_tz"] = acct["_tz"]
        self.rows.append(row)
        k = acct["_archetype"]
        self.req_count[k] = self.req_count.get(k, 0) + 1

    # ------------------------------------------------------------ content
    def chat_conversation(self):
        """A list of (user, assistant) turns from real benign prompts."""
        if self.p(0.55):
            pairs = self.pick(self.c.hh)
            k = min(len(pairs), int(self.rng.geometric(0.55)))
            return list(pairs[:k])
        ins, out = self.pick(self.c.aeval)
        turns = [(ins, out)]
        if self.p(0.25):
            fu = self.pick(["Can you make that shorter?", "Thanks! Can you give me another example?",
                            "Could you explain that more simply?", "What would you recommend, then?",
                            "ok and in bullet points please"])
            turns.append((fu, out[: max(40, len(out) // 2)]))
        return turns

    def model_for(self, acct: dict, t: float, heavy: bool) -> str:
        pro3 = acct.get("_adopt_pro3", float("inf"))
        mini3 = acct.get("_adopt_mini3", float("inf"))
        if heavy:
            return "aurora-3-pro" if t >= pro3 else "aurora-2-pro"
        if t >= mini3:
            return "aurora-3-mini"
        return acct.get("_light_model", "aurora-2-mini")

    def set_adoption(self, acct: dict, p_pro=0.55, mean_pro_days=6.0, p_mini=0.4, mean_mini_days=4.0):
        if self.p(p_pro):
            acct["_adopt_pro3"] = R_PRO3 + self.rng.exponential(mean_pro_days) * DAY + self.u(0, 2) * HOUR
        if self.p(p_mini):
            acct["_adopt_mini3"] = R_MINI3 + self.rng.exponential(mean_mini_days) * DAY
        acct["_light_model"] = "aurora-1.5" if self.p(0.06) else "aurora-2-mini"
        acct["_heavy_share"] = float(self.rng.beta(2, 3))

    def client_profile(self, kind: str) -> dict:
        """Per-account client configuration for benign users."""
        r = self.rng.random()
        if kind == "sdk":
            ua = T.POPULAR_SDK_UA
        elif r < 0.38:
            ua = self.pick(self.c.browser_uas) if self.p(0.3) else self.pick(T.MODERN_BROWSER_UAS)
        elif r < 0.50:
            ua = T.POPULAR_SDK_UA
        elif r < 0.82:
            ua = self.pick(T.SDK_UAS[1:])
        else:
            ua = self.pick(T.OTHER_CLIENT_UAS)
        browser = ua.startswith("Mozilla/")
        return {
            "ua": ua,
            "browser": browser,
            "stream": True if browser else (self.p(0.4) if self.p(0.8) else None),
            "temperature": None if browser else self.pick([None, None, 0.0, 0.2, 0.5, 0.6, 0.7, 0.7, 1.0]),
            "max_tokens": self.pick([1024, 2048, 4096]) if browser else
            self.pick([None, 256, 512, 1024, 1024, 2048, 4096, 8192]),
            "system": None if browser or self.p(0.5) else self.pick(T.APP_SYSTEM_PROMPTS),
            "use_prompt_field": (not browser) and self.p(0.12),
        }

    # ================================================================= benign
    def benign_ordinary(self, n_users: int, kind: str):
        """Ordinary chat users (kind='ordinary') or SDK developers (kind='sdk')."""
        arche = "benign:ordinary" if kind == "ordinary" else "benign:sdk_crowd"
        ccs = list(COUNTRIES)
        wts = [COUNTRIES[c][0] for c in ccs]
        company_pool = [self.company_domain(self.pick(ccs)) for _ in range(max(20, n_users // 6))]
        for _ in range(n_users):
            cc = self.wpick(ccs, wts)
            tz = self.pick(COUNTRIES[cc][1])
            v6 = self.p(0.2)
            home = self.ip.residential(self.rng, cc, v6=v6)
            if self.p(0.75 if kind == "ordinary" else 0.55):
                dom = self.pick(T.WEBMAIL[cc])
            else:
                dom = company_pool[min(int(self.rng.zipf(1.6)) - 1, len(company_pool) - 1)] \
                    if self.p(0.5) else self.company_domain(cc)
            inside = self.p(0.08)
            created = T0 + self.u(0, N_DAYS - 2) * DAY if inside else T0 - self.u(5, 900) * DAY
            acct = self.account(
                arche, "benign", arche, created=created, email_domain=dom,
                payment="" if self.p(0.1) else self.uid("pf_", 8), country=cc, org="",
                verification=self.wpick(["email", "none", "startup"], [80, 15, 5 if kind == "sdk" else 0.01]),
                signup_ip=home if self.p(0.7) else self.ip.residential(self.rng, cc), tz=tz,
                n_keys=1 if self.p(0.8) else 2)
            self.set_adoption(acct)
            prof = self.client_profile(kind)
            self._run_user(acct, prof, home, kind)

    def _run_user(self, acct, prof, home, kind):
        cc, tz = acct["billing_country"], acct["_tz"]
        if kind == "ordinary":
            p_day = float(self.rng.beta(1.2, 5.0))
            prof_h, weekend = DIURNAL_CHAT, 0.85
        else:
            p_day = float(self.rng.beta(1.0, 9.0))
            prof_h, weekend = DIURNAL_WORK, 0.3
        for day in range(N_DAYS):
            wd = (day + 0) % 7
            pd = p_day * (weekend if wd >= 5 else 1.0)
            if not self.p(pd):
                continue
            for _ in range(1 + int(self.rng.poisson(0.4))):
                t = self.local_time(day, tz, prof_h)
                ip = home if self.p(0.85) else self.ip.residential(self.rng, cc, v6=self.p(0.15))
                self._session(acct, prof, t, ip, single=(kind == "sdk" and self.p(0.7)))

    def _session(self, acct, prof, t, ip, single=False, ua=None, extra=None, key=None,
                 model=None):
        turns = self.chat_conversation()
        if single:
            turns = turns[:1]
        heavy = self.p(acct.get("_heavy_share", 0.4))
        msgs_hist = []
        if prof.get("system"):
            msgs_hist.append({"role": "system", "content": prof["system"]})
        ua = ua if ua is not None else (prof["ua"] if not self.p(0.01) else None)
        for i, (user, asst) in enumerate(turns):
            m = model or self.model_for(acct, t, heavy)
            if prof.get("use_prompt_field") and len(turns) == 1:
                kw = {"prompt": user}
            else:
                kw = {"messages": msgs_hist + [{"role": "user", "content": user}]}
            self.emit(acct, t, ip, ua, m, max_tokens=prof.get("max_tokens"),
                      temperature=prof.get("temperature"), stream=prof.get("stream"),
                      response=asst, out_tokens=max(_est_tokens(asst), self.out_tokens(5.2, 0.7, 8, 3000)),
                      status=self.status(), key=key, extra=extra, **kw)
            msgs_hist = msgs_hist + [{"role": "user", "content": user}, {"role": "assistant", "content": asst}]
            t += self.u(20, 60) + float(self.rng.lognormal(4.2, 0.8))

    def benign_ci_bot(self):
        org = self.uid("org_", 5)
        ci_ips = [self.ip.cloud(self.rng, "amazon"), self.ip.cloud(self.rng, "amazon")]
        acct = self.account("benign:ci_bot", "benign", "benign:ci_bot", created=T0 - 400 * DAY,
                            email_domain=self.company_domain("US", unique=True),
                            payment=self.uid("pf_", 8), country="US", org=org,
                            verification="verified_org", signup_ip=self.ip.residential(self.rng, "US"),
                            tz=-5, n_keys=2)
        prs = []
        for _ in range(300):
            ins, inp, code = self.pick(self.c.codegen)
            lines = code.splitlines() or [code]
            fname = self.pick(["src/ledger/", "src/api/", "lib/", "services/billing/"]) + \
                self.pick(["handlers", "utils", "models", "client", "retry"]) + self.pick([".py", ".ts", ".go", ".java"])
            diff = f"--- a/{fname}\n+++ b/{fname}\n@@ -0,0 +1,{len(lines)} @@\n" + "\n".join("+" + ln for ln in lines)
            prs.append((int(self.rng.integers(1200, 9800)), self.pick(["main", "release/3.2", "feat/refunds",
                                                                        "fix/idempotency", "chore/deps"]), diff))
        rate_day = 220 * self.scale
        t = T0
        while t < T_END:
            local_h = ((t - T0) / HOUR - 5) % 24
            wd = self.weekday(t - 5 * HOUR)
            mult = 1.6 if (9 <= local_h < 19 and wd < 5) else 0.55
            t += self.rng.exponential(DAY / (rate_day * mult))
            if t >= T_END:
                break
            pr, br, diff = prs[min(int(self.rng.zipf(1.3)) - 1, len(prs) - 1)] if self.p(0.5) else self.pick(prs)
            burst = 1 if self.p(0.9) else int(self.rng.integers(2, 6))  # matrix jobs
            for b in range(burst):
                self.emit(acct, t + b * self.u(0.2, 2), self.pick(ci_ips), T.CI_BOT_UA, "aurora-2-pro",
                          messages=[{"role": "system", "content": T.CI_SYSTEM},
                                    {"role": "user", "content": T.CI_TEMPLATE.format(pr=pr, branch=br, diff=diff)}],
                          max_tokens=1500, temperature=0.0, stream=False,
                          response='{"verdict": "request_changes", "comments": []}',
                          out_tokens=self.out_tokens(5.8, 0.5, 60, 1500), status=self.status(0.01, 0.004),
                          key=acct["_keys"][0 if b == 0 else 1])

    def benign_agent_product(self):
        org = self.uid("org_", 5)
        dom = self.company_domain("US", unique=True)
        pf = self.uid("pf_", 8)
        specs = [("prod-us", 22, -6, [self.ip.cloud(self.rng, "google") for _ in range(3)] +
                  [self.ip.cloud(self.rng, "google", v6=True)]),
                 ("prod-eu", 12, 1, [self.ip.cloud(self.rng, "google") for _ in range(2)]),
                 ("staging", 3, -6, [self.ip.cloud(self.rng, "amazon")])]
        for name, per_day, tz, ips in specs:
            acct = self.account("benign:agent_product", "benign", "benign:agent_product",
                                created=T0 - self.u(90, 300) * DAY, email_domain=dom, payment=pf, country="US",
                                org=org, verification="verified_org" if name != "staging" else "startup",
                                signup_ip=ips[0], tz=tz, n_keys=2)
            switch = R_PRO3 + (2.3 if name == "staging" else 6.5) * DAY
            for day in range(N_DAYS):
                n_conv = int(self.rng.poisson(per_day * self.scale * (0.7 if (day % 7) >= 5 else 1.0)))
                for _ in range(n_conv):
                    t = self.local_time(day, tz, DIURNAL_CHAT)
                    model = "aurora-3-pro" if t >= switch else "aurora-2-pro"
                    self._agent_conversation(acct, t, self.pick(ips), model)

    def _agent_conversation(self, acct, t, ip, model):
        oid = f"LO-{int(self.rng.integers(10000, 99999))}"
        item = self.pick(T.AGENT_ITEMS)
        if self.p(0.75):
            ask = self.pick(T.AGENT_ASKS).format(oid=oid, d=int(self.rng.integers(4, 15)), item=item,
                                                 email="customer@" + self.pick(["gmail.com", "outlook.com", "web.de"]))
        else:
            ask = self.pick(self.c.aeval)[0]
        msgs = [{"role": "system", "content": T.AGENT_SYSTEM}, {"role": "user", "content": ask}]
        rounds = 1 + (1 if self.p(0.45) else 0) + (1 if self.p(0.15) else 0)
        for r in range(rounds):
            for _ in range(int(self.rng.integers(1, 6))):
                tool = self.pick(T.AGENT_TOOLS)
                args = {k: (oid if "order" in k else self.pick(["tent return policy", "refund window", "shipping norway"])
                            if k == "query" else 3 if v.get("type") == "integer" else 49.9 if v.get("type") == "number"
                            else self.pick(v["enum"]) if "enum" in v else f"{item} issue")
                        for k, v in tool["parameters"]["properties"].items()}
                call = json.dumps({"tool_call": {"name": tool["name"], "arguments": args}})
                self.emit(acct, t, ip, T.AGENT_UA, model, messages=list(msgs), tools=T.AGENT_TOOLS,
                          max_tokens=2048, temperature=0.2, stream=True, response=call,
                          out_tokens=self.out_tokens(4.0, 0.4, 20, 300), status=self.status(0.002, 0.004))
                result = self._tool_result(tool["name"], oid, item)
                msgs = msgs + [{"role": "assistant", "content": call},
                               {"role": "tool", "content": json.dumps(result)}]
                t += self.u(1.5, 9)
            final = (f"I checked order {oid}: the {item} is {self.pick(['on its way', 'being prepared', 'delivered'])}. "
                     f"{self.pick(['I have issued the refund.', 'I opened a ticket for a colleague.', 'Anything else?'])}")
            self.emit(acct, t, ip, T.AGENT_UA, model, messages=list(msgs), tools=T.AGENT_TOOLS,
                      max_tokens=2048, temperature=0.2, stream=True, response=final,
                      out_tokens=self.out_tokens(5.0, 0.4, 40, 600), status=self.status(0.002, 0.004))
            msgs = msgs + [{"role": "assistant", "content": final}]
            if r + 1 < rounds:
                t += self.u(20, 240)
                msgs = msgs + [{"role": "user", "content": self.pick(
                    ["Thanks. Can you also check my other order?", "And how long will the refund take?",
                     "ok, can I exchange it instead?", "What about the " + self.pick(T.AGENT_ITEMS) + "?"])}]

    def _tool_result(self, name: str, oid: str, item: str) -> dict:
        if name == "search_kb":
            return {"results": [{"title": self.pick(["Returns and exchanges", "Shipping times", "Warranty",
                                                     "Refund timelines", "Sizing guide"]),
                                 "snippet": "Items can be returned within 30 days in original condition.",
                                 "score": round(self.u(0.5, 0.99), 2)} for _ in range(int(self.rng.integers(1, 4)))]}
        if name in ("get_order", "list_orders"):
            order = {"order_id": oid, "status": self.pick(["shipped", "processing", "delivered", "returned"]),
                     "items": [{"sku": f"SKU-{int(self.rng.integers(1000, 9999))}", "name": item,
                                "price_eur": round(self.u(19, 420), 2)}],
                     "carrier": self.pick(["DHL", "UPS", "PostNord", "GLS"]),
                     "tracking_no": f"TRK{int(self.rng.integers(10**8, 10**9))}"}
            return {"orders": [order]} if name == "list_orders" else order
        if name == "track_shipment":
            return {"events": [{"at": "2026-03-0%dT%02d:00:00Z" % (int(self.rng.integers(1, 9)), int(self.rng.integers(6, 20))),
                                "where": self.pick(["Hamburg hub", "Oslo terminal", "Out for delivery", "Malmo"])}
                               for _ in range(int(self.rng.integers(1, 5)))]}
        if name == "issue_refund":
            return {"ok": self.p(0.9), "refund_id": f"RF-{int(self.rng.integers(10000, 99999))}"}
        return {"ok": True, "ticket_id": f"T-{int(self.rng.integers(100000, 999999))}"}

    def benign_eval_harness(self):
        org = self.uid("org_", 5)
        ip = self.ip.cloud(self.rng, "microsoft")
        acct = self.account("benign:eval_harness", "benign", "benign:eval_harness",
                            created=T0 - 200 * DAY, email_domain="cs.vandermolen-institute.org",
                            payment=self.uid("pf_", 8), country="NL", org=org, verification="research",
                            signup_ip=self.ip.residential(self.rng, "NL"), tz=1)
        gsm = [self.c.gsm8k[i] for i in self.rng.permutation(len(self.c.gsm8k))[:1500]]
        aev = list(self.c.aeval)

        def run(start, hours, n, model):
            times = np.sort(start + self.rng.uniform(0, hours * HOUR, size=n))
            for i, ts in enumerate(times):
                if i % 3 != 2:
                    q, a = gsm[i % len(gsm)]
                    self.emit(acct, float(ts), ip, T.EVAL_UA, model,
                              prompt=f"Question: {q}\nAnswer: Let's think step by step.",
                              max_tokens=512, temperature=0.0, stream=False, response=a,
                              out_tokens=self.out_tokens(5.3, 0.35, 60, 512), status=self.status(0.02, 0.003))
                else:
                    ins, out = aev[i % len(aev)]
                    self.emit(acct, float(ts), ip, T.EVAL_UA, model,
                              messages=[{"role": "user", "content": ins + "\n\nLet's think step by step."}],
                              max_tokens=512, temperature=0.0, stream=False, response=out,
                              out_tokens=self.out_tokens(5.5, 0.4, 60, 512), status=self.status(0.02, 0.003))
        run(T0 + 8 * DAY + 13 * HOUR, 4.25, self.n(2000), "aurora-2-pro")   # one afternoon
        run(R_PRO3 + 19 * HOUR, 1.5, self.n(500), "aurora-3-pro")         # re-run on the new model

    def benign_university(self):
        nat = self.ip.university(self.rng)
        dom = "students.lakemont.edu"
        deadline_days = [3, 10, 17]  # Thursdays
        for _ in range(self.n(160)):
            created = T0 - 14 * DAY + self.u(0, 7) * DAY
            home = self.ip.residential(self.rng, "US")
            acct = self.account("benign:university_nat", "benign", "benign:university_nat", created=created,
                                email_domain=dom, payment="" if self.p(0.6) else self.uid("pf_", 8),
                                country="US", org="", verification="edu",
                                signup_ip=nat if self.p(0.8) else home, tz=-5)
            self.set_adoption(acct, p_pro=0.25)
            r = self.rng.random()
            ua = (self.pick(T.MODERN_BROWSER_UAS) if r < 0.6 else self.pick(self.c.browser_uas) if r < 0.7
                  else T.POPULAR_SDK_UA)
            prof = {"ua": ua, "browser": ua.startswith("Mozilla"), "stream": ua.startswith("Mozilla") or None,
                    "temperature": None, "max_tokens": 1024, "system": None}
            p_day = float(self.rng.beta(2, 7))
            for day in range(N_DAYS):
                wkend = day % 7 >= 5
                if self.p(p_day * (0.5 if wkend else 1.0)):
                    t = self.local_time(day, -5, DIURNAL_STUDENT)
                    ip = home if (wkend and self.p(0.6)) or self.p(0.08) else nat
                    self._session(acct, prof, t, ip)
                if day in deadline_days and self.p(0.6):
                    t = T0 + day * DAY + (18 + self.u(0, 5.5) + 5) * HOUR
                    ip = nat if self.p(0.7) else home
                    for _ in range(int(self.rng.integers(3, 10))):
                        q, a = self.pick(self.c.gsm8k) if self.p(0.7) else self.pick(self.c.codegen)[::2]
                        self.emit(acct, t, ip, ua, "aurora-2-mini",
                                  messages=[{"role": "user", "content": self.pick(T.STUDENT_WRAPS).format(q=q)}],
                                  max_tokens=1024, stream=prof["stream"], response=a,
                                  out_tokens=self.out_tokens(5.6, 0.5, 50, 1024), status=self.status())
                        t += self.u(40, 600)

    def benign_relay(self):
        org = self.uid("org_", 5)
        egress = [self.ip.cloud(self.rng, "digitalocean") for _ in range(3)]
        pf = self.uid("pf_", 8)
        accts = [self.account("benign:relay", "benign", "benign:relay", created=T0 - self.u(150, 400) * DAY,
                              email_domain="chatrelay.app", payment=pf, country="GB", org=org,
                              verification="verified_org", signup_ip=egress[0], tz=0, n_keys=3)
                 for _ in range(2)]
        end_users = [(self.uid("eu_", 5), self.pick([0, 1, 1, -5, -6, 5.5, 2]), self.rng.beta(1, 4))
                     for _ in range(self.n(900))]
        eu_w = np.array([e[2] for e in end_users])
        eu_w /= eu_w.sum()
        prof = {"system": "You are RelayChat, a friendly assistant.", "max_tokens": 1500, "temperature": 0.7,
                "stream": True}
        for acct in accts:
            self.set_adoption(acct, p_pro=1.0, mean_pro_days=3.0, p_mini=1.0, mean_mini_days=1.5)
        for _ in range(self.n(2200)):
            eu, tz, _w = end_users[int(self.rng.choice(len(end_users), p=eu_w))]
            day = int(self.rng.integers(0, N_DAYS))
            t = self.local_time(day, tz, DIURNAL_CHAT)
            acct = accts[int(eu[-1], 16) % 2]
            self._session(acct, prof, t, self.pick(egress), ua=T.RELAY_UA, extra={"metadata": {"end_user": eu}},
                          key=self.pick(acct["_keys"]))

    def benign_burst_once(self):
        cc, tz = "DE", 1
        home = self.ip.residential(self.rng, cc)
        acct = self.account("benign:burst_once", "benign", "benign:burst_once", created=T0 - 300 * DAY,
                            email_domain="posteo.de", payment=self.uid("pf_", 8), country=cc, org="",
                            verification="email", signup_ip=home, tz=tz)
        self.set_adoption(acct)
        prof = {"ua": T.POPULAR_SDK_UA, "stream": False, "temperature": 0.3, "max_tokens": 2048, "system": None}
        for day in range(N_DAYS):
            if self.p(0.35):
                self._session(acct, prof, self.local_time(day, tz, DIURNAL_CHAT), home)
        t = T0 + 11 * DAY + (15 + 10 / 60 - tz) * HOUR
        for i in range(self.n(420)):
            ins, out = self.c.aeval[i % len(self.c.aeval)]
            text = out or ins
            self.emit(acct, t, home, T.POPULAR_SDK_UA, "aurora-2-mini",
                      messages=[{"role": "system", "content": "Translate into German. Keep the formatting."},
                                {"role": "user", "content": text}],
                      max_tokens=2048, temperature=0.3, stream=False,
                      out_tokens=int(_est_tokens(text) * 1.2) + 5, status=self.status(0.05))
            t += self.u(4, 16)

    # ================================================================ attacks
    def _extraction_item(self, mix: dict[str, float]):
        """(kind, task_text, reference_answer, tools, base_messages) from real distillation prompts."""
        kinds = list(mix)
        kind = self.wpick(kinds, [mix[k] for k in kinds])
        if kind == "gsm8k":
            q, a = self.pick(self.c.gsm8k)
            return "math", q, a, None, None
        if kind == "seed":
            ins, inp, out = self.pick(self.c.seed)
            return "task", ins + ("\n\nInput: " + inp if inp else ""), out, None, None
        if kind == "toolformer":
            ins, inp, out = self.pick(self.c.toolformer)
            return "task", ins + ("\n\nInput: " + inp if inp else ""), out, None, None
        if kind == "codegen":
            ins, inp, out = self.pick(self.c.codegen)
            return "code", ins + ("\n" + inp if inp else ""), out, None, None
        msgs, tools = self.pick(self.c.bfcl)
        return "tool", msgs[-1]["content"], None, tools, msgs

    def campaign_hydra(self):
        name = "hydra_proxy"
        n_acc = self.n(240, 20)
        n_fp = max(2, int(round(8 * self.scale)))
        fps = [self.uid("pf_", 8) for _ in range(n_fp)]
        throwaway = [self.company_domain("US") for _ in range(3)]
        proxy_cc = ["US", "GB", "CA", "DE", "BR", "IN", "MX", "AU", "FR", "ES", "IT", "NL"]
        proxy_w = [55, 8, 8, 6, 5, 5, 4, 3, 2, 2, 1, 1]
        waves = [(-3 * DAY, 0.30), (4 * DAY, 0.25), (R_PRO3 - T0 + 7 * HOUR, 0.25), (15 * DAY, 0.20)]
        pivot = R_PRO3 + 5.2 * HOUR
        mix = {"gsm8k": 35, "seed": 20, "toolformer": 20, "bfcl": 15, "codegen": 10}
        counts = [int(round(n_acc * w)) for _, w in waves]
        counts[-1] = n_acc - sum(counts[:-1])
        for (w_off, _), cnt in zip(waves, counts):
            for _ in range(cnt):
                cc0 = self.wpick(["US", "GB", "CA", "DE"], [70, 10, 10, 10])
                created = T0 + w_off + self.u(0, 3) * HOUR
                acct = self.account(
                    name, "attack", name, created=created,
                    email_domain=self.pick(throwaway) if self.p(0.3) else
                    self.pick(["gmail.com", "gmail.com", "outlook.com", "proton.me", "hotmail.com", "yahoo.com"]),
                    payment=self.pick(fps) if self.p(0.85) else self.uid("pf_", 8), country=cc0, org="",
                    verification="none" if self.p(0.45) else "email",
                    signup_ip=self.ip.residential(self.rng, self.wpick(proxy_cc, proxy_w)), tz=0)
                start = created + self.u(2, 20) * HOUR
                end = min(start + self.u(1.5, 5.5) * DAY, T_END)
                my_pivot = pivot + self.u(0, 2.5) * HOUR
                last_ip = None
                d0 = int((max(start, T0) - T0) // DAY)
                for day in range(max(0, d0), N_DAYS):
                    ds, de = T0 + day * DAY, T0 + (day + 1) * DAY
                    lo, hi = max(ds, start), min(de, end)
                    if hi <= lo:
                        continue
                    k = int(round(int(self.rng.integers(8, 30)) * (hi - lo) / DAY))
                    for ts in np.sort(self.rng.uniform(lo, hi, size=k)):
                        ts = float(ts)
                        if last_ip is None or self.p(0.8):
                            last_ip = self.ip.residential(self.rng, self.wpick(proxy_cc, proxy_w), v6=self.p(0.05))
                        kind, task, ref, tools, base = self._extraction_item(mix)
                        wrapped = self.pick(T.HYDRA_WRAPS[kind]).format(q=task)
                        msgs = [{"role": "system", "content": T.HYDRA_SYSTEM}]
                        if base:
                            msgs += [dict(m) for m in base[:-1] if m["role"] != "system"]
                        msgs.append({"role": "user", "content": wrapped})
                        model = "aurora-3-pro" if ts >= my_pivot else "aurora-2-pro"
                        self.emit(acct, ts, last_ip, T.POPULAR_SDK_UA, model, messages=msgs, tools=tools,
                                  max_tokens=8192, temperature=0.6, stream=False, response=ref,
                                  out_tokens=self.out_tokens(7.7, 0.55, 400, 8192),
                                  status=self.status(0.035, 0.005))

    def _grading_prompt(self):
        src = self.wpick(["gsm8k", "seed", "toolformer", "aeval"], [40, 20, 20, 20])
        if src == "gsm8k":
            q, a = self.pick(self.c.gsm8k)
            a = a.replace("<<", "").replace(">>", " ")
            a_clean = a
            if self.p(0.4):
                head, _, tail = a.rpartition("#### ")
                try:
                    a = head + "#### " + str(int(tail.replace(",", "")) + int(self.rng.integers(1, 9)))
                except ValueError:
                    pass
            task, ans, alt = q, a, a_clean
        elif src == "aeval":
            task, ans = self.pick(self.c.aeval)
            alt = self.pick(self.c.aeval)[1]
        else:
            ins, inp, out = self.pick(self.c.seed if src == "seed" else self.c.toolformer)
            task, ans = ins + ("\nInput: " + inp if inp else ""), out
            alt = out[: max(20, len(out) // 2)]
        r = self.rng.random()
        if r < 0.55:
            return T.RUBRIC_SINGLE.format(task=task, answer=ans)
        if r < 0.80:
            a, b = (ans, alt) if self.p(0.5) else (alt, ans)
            return T.RUBRIC_PAIR.format(task=task, a=a, b=b)
        return T.RUBRIC_LIKERT.format(task=task, answer=ans)

    def campaign_rubric(self):
        name = "rubric_harvest"
        n_acc = self.n(48, 8)
        fps = [self.uid("pf_", 8) for _ in range(4)]
        doms = [self.company_domain("US"), self.company_domain("NL")]
        exits = []
        for _ in range(max(8, self.n(40))):
            r = self.rng.random()
            exits.append(self.ip.vpn(self.rng) if r < 0.65 else self.ip.vpn(self.rng, v6=True) if r < 0.70
                         else self.ip.datacenter(self.rng) if r < 0.95 else self.ip.tor_exit(self.rng))
        accts = []
        for _ in range(n_acc):
            cc = self.wpick(["SG", "US", "NL", "HK"], [40, 30, 15, 15])
            a = self.account(name, "attack", name, created=T0 - 6 * DAY + self.u(0, 36) * HOUR,
                             email_domain=self.pick(doms) if self.p(0.6) else "gmail.com",
                             payment=self.pick(fps), country=cc, org="", verification="email",
                             signup_ip=self.pick(exits), tz=0)
            a["_ua"] = self.pick(T.RUBRIC_UAS)
            accts.append(a)
        for day in range(1, 19):
            for slot_h in (2.0, 14.0):
                s0 = T0 + day * DAY + slot_h * HOUR + self.u(0, 12) * MIN
                for a in accts:
                    if not self.p(0.85):
                        continue
                    for ts in np.sort(self.rng.uniform(s0, s0 + 35 * MIN, size=int(self.rng.integers(2, 6)))):
                        ts = float(ts)
                        model = ("aurora-3-pro" if ts > R_PRO3 + 20 * HOUR and self.p(0.6)
                                 else "aurora-2-pro" if self.p(0.8) else "aurora-2-mini")
                        self.emit(a, ts, self.pick(exits), a["_ua"], model,
                                  messages=[{"role": "user", "content": self._grading_prompt()}],
                                  max_tokens=3000, temperature=0.0, stream=False,
                                  out_tokens=self.out_tokens(7.0, 0.35, 300, 3000),
                                  status=self.status(0.01, 0.004))

    def _ring_wrap(self, kind: str, task: str, style: dict) -> str:
        reason = self.pick(T.RING_TOOL_REASON if kind == "tool" else T.RING_REASON)
        opener = self.pick(style["openers"])
        closer = self.pick(T.RING_CLOSERS)
        if style["reason_first"] if self.p(0.8) else not style["reason_first"]:
            return f"{opener}{reason}\n\n{task}{closer}".strip()
        return f"{opener}{task}\n\n{reason}{closer}".strip()

    def campaign_ring(self):
        name = "quiet_ring"
        n_acc = self.n(24, 6)
        ccs = ["US", "CA", "GB", "DE", "NL", "AU", "SE"]
        ua_pool = T.MODERN_BROWSER_UAS + T.SDK_UAS[1:] + T.OTHER_CLIENT_UAS[:6]
        accts = []
        for _ in range(n_acc):
            cc = self.wpick(ccs, [40, 10, 15, 12, 8, 8, 7])
            tz = self.pick(COUNTRIES[cc][1])
            sticky = self.ip.residential(self.rng, cc, v6=self.p(0.1))
            a = self.account(name, "attack", name, created=T0 - self.u(20, 110) * DAY,
                             email_domain=self.company_domain(cc, unique=True), payment=self.uid("pf_", 8),
                             country=cc, org="", verification="email" if self.p(0.65) else "startup",
                             signup_ip=sticky if self.p(0.7) else self.ip.residential(self.rng, cc), tz=tz)
            ua = self.pick(ua_pool)
            a["_cfg"] = {"ip": sticky, "ua": ua,
                         "temperature": self.pick([0.3, 0.5, 0.7, 0.8, 1.0, None]),
                         "max_tokens": self.pick([2048, 3000, 4096, 6000]),
                         "stream": ua.startswith("Mozilla") or self.p(0.3),
                         "style": {"openers": [self.pick(T.RING_OPENERS) for _ in range(3)],
                                   "reason_first": self.p(0.5)},
                         "pivot": R_PRO3 + self.u(22, 28) * HOUR}
            accts.append(a)
        mix = {"bfcl": 45, "toolformer": 35, "seed": 10, "gsm8k": 10}
        redo: list = []
        for day in range(N_DAYS):
            for base_h, drift_min in ((13.0, 150), (1.5, 90)):
                s0 = T0 + day * DAY + base_h * HOUR + self.u(0, drift_min) * MIN
                for a in accts:
                    if not self.p(0.75):
                        continue
                    cfg = a["_cfg"]
                    t = s0 + self.u(0, 10) * MIN
                    for _ in range(int(self.rng.integers(4, 10))):
                        if redo and self.p(0.15):
                            item = redo.pop(int(self.rng.integers(0, len(redo))))
                        else:
                            item = self._extraction_item(mix)
                            if self.p(0.15):
                                redo.append(item)
                        kind, task, ref, tools, base = item
                        content = self._ring_wrap(kind, task, cfg["style"])
                        msgs = ([dict(m) for m in base[:-1]] if base else []) + [{"role": "user", "content": content}]
                        self.emit(a, t, cfg["ip"], cfg["ua"], "aurora-3-pro" if t >= cfg["pivot"] else "aurora-2-pro",
                                  messages=msgs, tools=tools, max_tokens=cfg["max_tokens"],
                                  temperature=cfg["temperature"], stream=cfg["stream"], response=ref,
                                  out_tokens=self.out_tokens(7.3, 0.5, 300, 6000), status=self.status(0.005, 0.004))
                        t += max(40.0, float(self.rng.normal(110, 25)))

    def campaign_relay_mix(self):
        name = "relay_mix"
        org = self.uid("org_", 5)
        egress = [self.ip.cloud(self.rng, "linode") for _ in range(3)]
        pf = self.uid("pf_", 8)
        dom = self.company_domain("US", unique=True)
        accts = [self.account(name, "attack", name, created=T0 - self.u(40, 120) * DAY, email_domain=dom,
                              payment=pf, country="US", org=org, verification="startup", signup_ip=egress[0],
                              tz=-5, n_keys=2) for _ in range(3)]
        for a in accts:
            self.set_adoption(a, p_pro=1.0, mean_pro_days=2.0)
        end_users = [(self.uid("cu_", 5), self.pick([-5, -6, -8, 0, 1])) for _ in range(self.n(500))]
        prof = {"system": None, "max_tokens": 2000, "temperature": 0.7, "stream": True}
        for _ in range(self.n(1300)):  # customer chat, ~70% of rows
            eu, tz = self.pick(end_users)
            t = self.local_time(int(self.rng.integers(0, N_DAYS)), tz, DIURNAL_CHAT)
            self._session(self.pick(accts), prof, t, self.pick(egress), ua=T.RELAY_MIX_UA,
                          extra={"metadata": {"end_user": eu}})
        harvest_users = [self.uid("cu_", 5) for _ in range(6)]
        mix = {"gsm8k": 40, "toolformer": 30, "seed": 20, "codegen": 10}
        n_x = self.n(900)
        for ts in np.sort(self.rng.uniform(T0, T_END, size=n_x)):
            ts = float(ts)
            kind, task, ref, tools, base = self._extraction_item(mix)
            if base:
                kind = "task"
            msgs = [{"role": "user", "content": self.pick(T.RELAY_MIX_WRAPS).format(q=task)}]
            self.emit(self.pick(accts), ts, self.pick(egress), T.RELAY_MIX_UA,
                      "aurora-3-pro" if ts >= R_PRO3 + 10 * HOUR else "aurora-2-pro",
                      messages=msgs, max_tokens=2000, temperature=0.7, stream=True, response=ref,
                      out_tokens=self.out_tokens(7.0, 0.4, 300, 2000), status=self.status(0.01, 0.004),
                      extra={"metadata": {"end_user": self.pick(harvest_users)}})


# ============================================================== formatting


def _fmt_ts(ts: float, style: str, tz_hours: float):
    ms = int(round(ts * 1000))
    if style == "ms":
        return ms
    if style == "offset":
        off = timedelta(minutes=int(round(tz_hours * 60)))
        dt = datetime.fromtimestamp(ms / 1000, tz=timezone(off))
        s = dt.isoformat(timespec="milliseconds")
        return s  # e.g. 2026-03-04T10:11:12.345+05:30 (or +00:00)
    dt = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(round(ts), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_parquet(rows: list[dict], path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    msg_t = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    tool_t = pa.list_(pa.struct([("name", pa.string()), ("description", pa.string()),
                                 ("parameters", pa.string())]))
    schema = pa.schema([
        ("request_id", pa.string()), ("timestamp", pa.string()), ("account_id", pa.string()),
        ("api_key_id", pa.string()), ("org_id", pa.string()), ("client_ip", pa.string()),
        ("user_agent", pa.string()), ("model", pa.string()), ("messages", msg_t), ("prompt", pa.string()),
        ("tools", tool_t), ("max_tokens", pa.int64()), ("temperature", pa.float64()), ("stream", pa.bool_()),
        ("response", pa.string()), ("input_tokens", pa.int64()), ("output_tokens", pa.int64()),
        ("status", pa.int64()), ("metadata", pa.struct([("end_user", pa.string())])),
    ])
    cols: dict[str, list] = {f.name: [] for f in schema}
    for r in rows:
        for name in cols:
            v = r.get(name)
            if name == "tools" and v is not None:
                v = [{"name": t["name"], "description": t["description"],
                      "parameters": json.dumps(t["parameters"], ensure_ascii=False)} for t in v]
            cols[name].append(v)
    table = pa.Table.from_pydict(cols, schema=schema)
    pq.write_table(table, path, compression="zstd")


# ================================================================ entry point


def generate(out_dir, seed: int, scale: float = 1.0, fmt: str = "jsonl", *, data_dir=None) -> dict:
    """Write requests/accounts/releases/truth into ``out_dir``; return a summary dict."""
    if fmt not in ("jsonl", "parquet"):
        raise ValueError("fmt must be 'jsonl' or 'parquet'")
    if scale <= 0:
        raise ValueError("scale must be > 0")
    t_start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    g = Gen(int(seed), scale, data_dir)

    # --- benign hard negatives and background
    g.benign_ordinary(g.n(2000), "ordinary")
    g.benign_ordinary(g.n(2000), "sdk")
    g.benign_ci_bot()
    g.benign_agent_product()
    g.benign_eval_harness()
    g.benign_university()
    g.benign_relay()
    g.benign_burst_once()
    # --- campaigns
    g.campaign_hydra()
    g.campaign_rubric()
    g.campaign_ring()
    g.campaign_relay_mix()

    rows = g.rows
    rows.sort(key=lambda r: (r["_ts"], r["request_id"]))
    # mild disorder: logs merged from several front-ends
    n = len(rows)
    for i in g.rng.choice(n, size=n // 50, replace=False) if n > 50 else []:
        j = min(n - 1, int(i) + int(g.rng.integers(1, 16)))
        rows[int(i)], rows[j] = rows[j], rows[int(i)]
    styles = g.rng.choice(3, size=n, p=[0.88, 0.06, 0.06])
    for r, st in zip(rows, styles):
        ts, tz = r.pop("_ts"), r.pop("_tz")
        style = ("z", "offset", "ms")[int(st)]
        if fmt == "parquet" and style == "ms":
            style = "z"
        r["timestamp"] = _fmt_ts(ts, style, tz)

    if fmt == "jsonl":
        req_path = out / "requests.jsonl"
        with open(req_path, "w", encoding="utf-8", newline="\n") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")))
                f.write("\n")
    else:
        req_path = out / "requests.parquet"
        _write_parquet(rows, req_path)

    accts = sorted(g.accounts, key=lambda a: a["account_id"])
    with open(out / "accounts.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["account_id", "created_at", "email_domain", "payment_fingerprint", "billing_country",
                    "org_id", "verification", "signup_ip"])
        for a in accts:
            w.writerow([a["account_id"], _iso(a["created_at"]), a["email_domain"], a["payment_fingerprint"],
                        a["billing_country"], a["org_id"], a["verification"], a["signup_ip"]])
    with open(out / "releases.jsonl", "w", encoding="utf-8", newline="\n") as f:
        for m, t in RELEASES:
            f.write(json.dumps({"model": m, "released_at": t}) + "\n")
    with open(out / "truth.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["account_id", "label", "campaign"])
        for a in accts:
            w.writerow([a["account_id"], a["_label"], a["_campaign"]])

    by_arch: dict[str, dict] = {}
    for a in accts:
        d = by_arch.setdefault(a["_campaign"], {"label": a["_label"], "accounts": 0, "requests": 0})
        d["accounts"] += 1
    for k, v in g.req_count.items():
        by_arch.setdefault(k, {"label": "?", "accounts": 0, "requests": 0})["requests"] = v
    return {
        "out_dir": str(out),
        "requests_path": str(req_path),
        "accounts_path": str(out / "accounts.csv"),
        "releases_path": str(out / "releases.jsonl"),
        "truth_path": str(out / "truth.csv"),
        "seed": int(seed), "scale": float(scale), "fmt": fmt,
        "n_requests": n, "n_accounts": len(accts),
        "n_attack_accounts": sum(a["_label"] == "attack" for a in accts),
        "campaigns": sorted({a["_campaign"] for a in accts if a["_label"] == "attack"}),
        "archetypes": dict(sorted(by_arch.items())),
        "window": [_iso(T0), _iso(T_END)],
        "new_model": {"model": "aurora-3-pro", "released_at": _iso(R_PRO3)},
        "seconds": round(time.perf_counter() - t_start, 2),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--fmt", choices=["jsonl", "parquet"], default="jsonl")
    ap.add_argument("--data-dir", default=None, help="shared data folder (default: auto)")
    args = ap.parse_args(argv)
    summary = generate(args.out_dir, args.seed, args.scale, args.fmt, data_dir=args.data_dir)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
