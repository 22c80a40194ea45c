"""Extraction campaigns (``attack:*``), modelled on the 2026 disclosures.

The wrappers they send are the project's own (``wrappers.py``); the content inside is real
(GPTeacher, GSM8K, BFCL, ShareGPT ...). No campaign carries a marker a real operator would
not produce: ids, emails and user agents look like everyone else's.
"""

from __future__ import annotations

import math

import numpy as np

from distillwatch.corpora import Prompt
from distillwatch.simulate import params as P
from distillwatch.simulate import wrappers as W
from distillwatch.simulate.benign import _choice, _weighted
from distillwatch.simulate.sessions import bfcl_turns, chat_turns, reference_answer, task_tools
from distillwatch.simulate.world import (
    DAY,
    GLOBAL_PRODUCT_HOURS,
    HOUR,
    HUMAN_HOURS,
    WORK_HOURS,
    Account,
    World,
    browser_ua,
    company_domain,
    lognormal_tokens,
    new_account_id,
    new_card,
    new_key_id,
    new_org_id,
    personal_mail,
    request_row,
    sample_hours,
    sdk_ua,
    utc_offset,
)

_FREE = ("gmail.com", "gmail.com", "gmail.com", "outlook.com", "hotmail.com", "yahoo.com")


def _available_mix(world: World, mix) -> tuple[tuple[str, float], ...]:
    """Drop corpus kinds that are empty (e.g. maths in bfcl-eval mode without maths rows)."""
    out = tuple((k, w) for k, w in mix if world.has(k))
    return out or (("benign_chat", 1.0),)


def _extraction_messages(world: World, rng: np.random.Generator, kind: str, style: str
                         ) -> tuple[list[list[dict]], list[dict] | None]:
    """Messages of one extraction task (a list: one entry per request; agentic tasks span
    several requests) and its tools. ``style``: hydra | careful | datagen | cot."""
    p = world.pick(rng, kind)
    tools = task_tools(p) if kind in ("tool_use", "agentic_multiturn") else None
    if kind == "agentic_multiturn":
        if style == "hydra":
            system, first = W.HYDRA_AGENT.render(rng), None
        elif style == "careful":
            system, first = None, W.humanise(W.CAREFUL.render(rng, content=p.user_turns[0]), rng)
        else:
            system, first = None, W.DATAGEN.render(rng, content=p.user_turns[0])
        return list(bfcl_turns(system, p, rng, first_user=first)), tools
    text = p.text
    if style == "hydra":
        msgs = [{"role": "system", "content": W.HYDRA_SYSTEM.render(rng)},
                {"role": "user", "content": W.HYDRA_TASK.render(rng, content=text)}]
    elif style == "careful":
        msgs = [{"role": "user", "content": W.humanise(W.CAREFUL.render(rng, content=text), rng)}]
    elif style == "datagen":
        msgs = [{"role": "user", "content": W.DATAGEN.render(rng, content=text)}]
    else:
        msgs = [{"role": "user", "content": W.COT.render(rng, content=text)}]
    return [msgs], tools


def _grading_messages(rng: np.random.Generator, p: Prompt) -> list[dict] | None:
    ref = reference_answer(p)
    if not ref:
        return None
    return [{"role": "user", "content": W.RUBRIC.render(rng, question=p.text, response=ref[:4000],
                                                        rubric=W.rubric_text(rng))}]


# ------------------------------------------------------------------------------------
class _IpTokens:
    """Deferred IP draws: rows get a token now; addresses are drawn per (kind, country) in bulk."""

    def __init__(self) -> None:
        self.specs: list[tuple[str, str | None]] = []

    def new(self, kind: str, country: str | None) -> int:
        """Register one future address of ``kind`` (optionally in ``country``).

        Returns:
            An integer token to put in a row's ``client_ip`` until ``resolve`` replaces it.
        """
        self.specs.append((kind, country))
        return len(self.specs) - 1

    def resolve(self, world: World, rng: np.random.Generator, rows: list[dict]) -> None:
        """Draw every registered address and replace the integer tokens in ``rows``.

        Addresses are drawn with ``World.ips`` once per ``(kind, country)`` group, groups in sorted
        order (so the draws are deterministic). Rows are modified in place.

        Raises:
            IntelError: a kind cannot be served in any country.
        """
        groups: dict[tuple[str, str | None], list[int]] = {}
        for i, spec in enumerate(self.specs):
            groups.setdefault(spec, []).append(i)
        ips: list[str | None] = [None] * len(self.specs)
        for spec in sorted(groups, key=lambda s: (s[0], s[1] or "")):
            idx = groups[spec]
            for i, ip in zip(idx, world.ips(spec[0], len(idx), rng, spec[1])):
                ips[i] = ip
        for r in rows:
            if isinstance(r["client_ip"], int):
                r["client_ip"] = ips[r["client_ip"]]


def gen_hydra(world: World, p: P.HydraParams, rng: np.random.Generator, name: str):
    """Generate ``attack:hydra``: many light accounts over rotating residential proxies.

    ``p.accounts_at(world.scale)`` accounts in ``p.n_waves`` waves spread over the window;
    a wave's accounts are created within 3 h, from 10-36 h before it starts, and each account
    starts within 12 h of its wave and lives ``U(p.lifespan_days)`` days. Identity: a billing country from
    ``p.proxy_countries``, a residential signup IP there, one of
    ``max(3, round(n * p.cards_per_account))`` cards (Zipf-reused), free mail or one of two
    throwaway domains, ``email`` / ``none`` verification. On an active day (``p.p_active_day``)
    an account sends ``Poisson(U(p.daily_rate))`` requests (pro rata on partial days), a share
    ``p.operator_hours_share`` of them in ``WORK_HOURS`` at UTC+``p.operator_offset_h``. Tasks
    follow ``p.mix`` (kinds without prompts dropped), wrapped in ``HYDRA_SYSTEM`` / ``HYDRA_TASK``
    / ``HYDRA_AGENT``; agentic tasks span several requests with tools. With ``p.p_new_ip`` a
    request gets a new residential (or, ``p.mobile_proxy_share``, mobile) IP, 60 % in the
    billing country; addresses are drawn in bulk at the end. One user agent, ``p.max_tokens``,
    ``p.temperature``, no streaming; output lognormal (median 2800 tokens, 900 agentic; sigma
    0.5); requests ``out / 50 + U(5, 40)`` s apart; model per task via ``p.adoption``.

    Evasion knobs (the scenario suite, :mod:`distillwatch.simulate.scenarios`):
    ``p.total_requests`` spreads a fixed stream over the accounts (each account's rate is scaled
    by ``total * scale / (n * mean(daily_rate) * mean(lifespan) * p_active_day)``);
    ``p.wrapper_style="paraphrase"`` sends every task in the humanised ``CAREFUL`` wording with no
    system prompt; ``p.human_schedule`` puts requests on ``HUMAN_HOURS`` in the billing country's
    time zone with every proxy IP in that country. Defaults reproduce the original archetype.

    Source: modelled on the 2026 distillation disclosures (``docs/simulator.md``); the wrappers are
    the project's own text (``wrappers.py``), the content inside is real corpus rows.

    Arguments, return value and errors follow :class:`~distillwatch.simulate.world.ArchetypeGenerator`.
    """
    n = p.accounts_at(world.scale)
    pc_names = [c for c, _ in p.proxy_countries]
    pc_w = np.array([w for _, w in p.proxy_countries], float)
    pc_w /= pc_w.sum()
    mix = _available_mix(world, p.mix)
    n_cards = max(3, int(round(n * p.cards_per_account)))
    cards = [new_card(rng) for _ in range(n_cards)]
    card_w = 1.0 / np.arange(1, n_cards + 1)
    card_w /= card_w.sum()
    throwaway = [company_domain(rng) for _ in range(2)]
    tokens = _IpTokens()
    rate_factor = 1.0
    if p.total_requests:
        expected = n * np.mean(p.daily_rate) * np.mean(p.lifespan_days) * p.p_active_day
        rate_factor = p.total_requests * world.scale / expected
    style = "careful" if p.wrapper_style == "paraphrase" else "hydra"
    if p.wrapper_style not in ("hydra", "paraphrase"):
        raise ValueError(f"wrapper_style must be hydra or paraphrase, got {p.wrapper_style!r}")
    # waves: activation times spread over the window (the first one just before it starts)
    wave_start = world.t0 - 1.5 * DAY + np.linspace(0, max(world.days - 4, 1), p.n_waves) * DAY
    wave_of = np.sort(rng.integers(0, p.n_waves, n))
    wave_created = wave_start - rng.uniform(10, 36, p.n_waves) * HOUR
    accounts, rows = [], []
    for a in range(n):
        w = int(wave_of[a])
        cc = pc_names[int(rng.choice(len(pc_names), p=pc_w))]
        signup = world.ips("residential", 1, rng, cc)[0]
        acct = Account(
            account_id=new_account_id(rng), archetype=name, label="attack",
            created_at=wave_created[w] + rng.uniform(0, 3) * HOUR,
            email_domain=_choice(rng, throwaway) if rng.random() < 0.15 else _choice(rng, _FREE),
            payment_fingerprint=cards[int(rng.choice(n_cards, p=card_w))], billing_country=cc,
            org_id=new_org_id(rng) if rng.random() < 0.5 else None,
            verification="email" if rng.random() < 0.45 else "none", signup_ip=signup,
            api_keys=[new_key_id(rng)])
        accounts.append(acct)
        start = wave_start[w] + rng.uniform(0, 12) * HOUR
        end = start + rng.uniform(*p.lifespan_days) * DAY
        rate = rng.uniform(*p.daily_rate) * rate_factor
        off = utc_offset(rng, cc) if p.human_schedule else 0.0
        ip_tok = tokens.new("residential", cc)
        for d in range(int(math.ceil((end - start) / DAY))):
            lo, hi = start + d * DAY, min(start + (d + 1) * DAY, end)
            if rng.random() >= p.p_active_day:
                continue
            budget = int(rng.poisson(rate * (hi - lo) / DAY))
            if p.human_schedule:  # a human's day in the billing country (the IPs' time zone)
                local_day = math.floor((lo + off * HOUR - world.t0) / DAY)
                t_h = world.local_day_start(local_day, off) + sample_hours(rng, HUMAN_HOURS, budget) * HOUR
                times = np.sort(np.where((t_h >= lo) & (t_h < hi), t_h, t_h + DAY))
                times = times[times < hi]
            else:
                # mostly spread over the whole day, partly in the operators' working hours
                n_op = int(rng.binomial(budget, p.operator_hours_share))
                op_day = math.floor((lo + p.operator_offset_h * HOUR - world.t0) / DAY)
                t_op = world.local_day_start(op_day, p.operator_offset_h) + sample_hours(rng, WORK_HOURS, n_op) * HOUR
                t_op = np.where((t_op >= lo) & (t_op < hi), t_op, rng.uniform(lo, hi, n_op))
                times = np.sort(np.concatenate([rng.uniform(lo, hi, budget - n_op), t_op]))
            i = 0
            while i < len(times):
                kind = _weighted(rng, mix)
                chain, tools = _extraction_messages(world, rng, kind, style)
                chain = chain[: len(times) - i]
                t = times[i]
                model = world.model_at(rng, t, p.adoption)
                for msgs in chain:
                    if rng.random() < p.p_new_ip:
                        kind_ip = "mobile" if rng.random() < p.mobile_proxy_share else "residential"
                        country = cc if p.human_schedule or rng.random() < 0.6 else \
                            pc_names[int(rng.choice(len(pc_names), p=pc_w))]
                        ip_tok = tokens.new(kind_ip, country)
                    median = 900 if kind == "agentic_multiturn" else 2800
                    out = lognormal_tokens(rng, median, 0.5, p.max_tokens)
                    rows.append(request_row(t, acct, key=acct.api_keys[0], ip=ip_tok, ua=p.user_agent, model=model,
                                            messages=msgs, tools=tools, max_tokens=p.max_tokens,
                                            temperature=p.temperature, stream=False, out_tokens=out))
                    t += out / 50 + rng.uniform(5, 40)
                    i += 1
    tokens.resolve(world, rng, rows)
    return accounts, rows


# ------------------------------------------------------------------------------------
def gen_cot_harvest(world: World, p: P.CotHarvestParams, rng: np.random.Generator, name: str):
    """Generate ``attack:cot_harvest``: chain-of-thought and rubric harvest in lockstep.

    ``p.accounts_at(world.scale)`` accounts created within 3 days of each other, from 12-20
    days before the window, sharing ``max(2, n // 4)`` cards and ``p.n_vpn_ips`` VPN plus ``p.n_dc_ips`` datacenter
    exit IPs. Each day (skipped with ``p.p_skip_day``), in each UTC session of ``p.sessions_utc``
    (start jittered by +-3 min), the accounts take turns round-robin every
    ``p.per_account_cadence_s / n`` seconds (N(0, 1.5 s) jitter), each mostly from its own exit
    (80 %). A request is rubric grading of a real reference answer (``p.rubric_share``, when the
    prompt has one) or a ``COT`` wrapper around a real prompt of ``p.mix`` (agentic kinds sent
    as coding). User agents and temperatures alternate by account; ``p.max_tokens``, no
    streaming; output lognormal (median 950 tokens, sigma 0.5); model via ``p.adoption``.

    Source: modelled on the 2026 distillation disclosures (``docs/simulator.md``); the wrappers are
    the project's own text (``wrappers.py``), the content inside is real corpus rows.

    Arguments, return value and errors follow :class:`~distillwatch.simulate.world.ArchetypeGenerator`.
    """
    n = p.accounts_at(world.scale)
    exits = world.ips("vpn", p.n_vpn_ips, rng) + world.ips("datacenter", p.n_dc_ips, rng)
    cards = [new_card(rng) for _ in range(max(2, n // 4))]
    created0 = world.t0 - rng.uniform(12, 20) * DAY
    mix = _available_mix(world, p.mix)
    accounts = []
    for i in range(n):
        accounts.append(Account(
            account_id=new_account_id(rng), archetype=name, label="attack",
            created_at=created0 + rng.uniform(0, 3) * DAY, email_domain=_choice(rng, _FREE + ("proton.me",)),
            payment_fingerprint=cards[i % len(cards)],
            billing_country=_choice(rng, ("US", "US", "US", "SG", "GB", "CA")),
            org_id=new_org_id(rng) if rng.random() < 0.5 else None, verification="email",
            signup_ip=exits[i % len(exits)], api_keys=[new_key_id(rng)]))
    temps = [p.temperatures[i % len(p.temperatures)] for i in range(n)]
    cadence = p.per_account_cadence_s / n
    rows = []
    for day in range(world.days):
        if rng.random() < p.p_skip_day:
            continue
        for h0, h1 in p.sessions_utc:
            s0 = world.t0 + day * DAY + (h0 + rng.uniform(-0.05, 0.05)) * HOUR
            ticks = np.arange(s0, world.t0 + day * DAY + h1 * HOUR, cadence)
            ticks = ticks + rng.normal(0, 1.5, len(ticks))
            first = int(rng.integers(n))
            for k, t in enumerate(ticks):
                i = (first + k) % n
                acct = accounts[i]
                ip = exits[i % len(exits)] if rng.random() < 0.8 else exits[int(rng.integers(len(exits)))]
                kind = _weighted(rng, mix)
                msgs = None
                if rng.random() < p.rubric_share:
                    msgs = _grading_messages(rng, world.pick(rng, kind))
                if msgs is None:
                    msgs = _extraction_messages(world, rng, kind if kind != "agentic_multiturn" else "coding",
                                                "cot")[0][0]
                model = world.model_at(rng, t, p.adoption)
                out = lognormal_tokens(rng, 950, 0.5, p.max_tokens)
                rows.append(request_row(t, acct, key=acct.api_keys[0], ip=ip, ua=p.user_agents[i % len(p.user_agents)],
                                        model=model, messages=msgs, max_tokens=p.max_tokens, temperature=temps[i],
                                        stream=False, out_tokens=out))
    return accounts, rows


# ------------------------------------------------------------------------------------
def gen_careful_ring(world: World, p: P.CarefulRingParams, rng: np.random.Generator, name: str):
    """Generate ``attack:careful_ring``: a ring linkable only by content and co-activity.

    ``p.accounts_at(world.scale)`` accounts, each with a unique card, a unique company
    domain (its email domain 70 % of the time), its own ``org_id``, 1-2 keys, an age of 60-400
    days, and one sticky residential IP in its billing country (``p.countries`` with
    residential ranges, round-robin). Clients vary per account (SDK 70 % / browser user agent,
    ``max_tokens`` 4096-12000, temperature 0.3-1.0, streaming 50 %). On an active day
    (``p.p_active_day``, halved at weekends) it sends ``Poisson(p.requests_mean * U(0.7, 1.3))``
    requests inside the team's shifts ``p.shifts_local`` at UTC+``p.team_offset_h``. Tasks follow
    ``p.mix`` inside the humanised ``CAREFUL`` wrapper family; output lognormal (median 1800
    tokens, 700 agentic; sigma 0.5); requests ``out / 50`` s plus a lognormal pause (median 30 s)
    apart; model via ``p.adoption``.

    Source: modelled on the 2026 distillation disclosures (``docs/simulator.md``); the wrappers are
    the project's own text (``wrappers.py``), the content inside is real corpus rows.

    Arguments, return value and errors follow :class:`~distillwatch.simulate.world.ArchetypeGenerator`.
    """
    n = p.accounts_at(world.scale)
    mix = _available_mix(world, p.mix)
    ok = set(world.intel.countries_with_residential())
    ccs = [c for c in p.countries if c in ok] or list(p.countries)
    domains: set[str] = set()
    accounts, rows = [], []
    shifts = np.array(p.shifts_local)
    shift_w = (shifts[:, 1] - shifts[:, 0]) / (shifts[:, 1] - shifts[:, 0]).sum()
    for i in range(n):
        cc = ccs[i % len(ccs)]
        ip = world.ips("residential", 1, rng, cc)[0]
        dom = company_domain(rng)
        while dom in domains:
            dom = company_domain(rng)
        domains.add(dom)
        acct = Account(
            account_id=new_account_id(rng), archetype=name, label="attack",
            created_at=world.t0 - rng.uniform(60, 400) * DAY,
            email_domain=dom if rng.random() < 0.7 else personal_mail(rng, cc),
            payment_fingerprint=new_card(rng), billing_country=cc, org_id=new_org_id(rng),
            verification=_weighted(rng, (("email", 0.6), ("none", 0.2), ("startup", 0.2))), signup_ip=ip,
            api_keys=[new_key_id(rng) for _ in range(1 + int(rng.integers(2)))])
        accounts.append(acct)
        ua = sdk_ua(rng) if rng.random() < 0.7 else browser_ua(rng)
        max_tokens = int(_choice(rng, (4096, 6000, 8000, 8192, 10000, 12000)))
        temperature = float(_choice(rng, (0.3, 0.5, 0.7, 0.8, 1.0)))
        stream = bool(rng.random() < 0.5)
        intensity = rng.uniform(0.7, 1.3)
        for day in range(world.days):
            weekend = world.weekday(day) >= 5
            if rng.random() >= p.p_active_day * (0.5 if weekend else 1.0):
                continue
            k = int(rng.poisson(p.requests_mean * intensity))
            which = rng.choice(len(shifts), size=k, p=shift_w)
            local = shifts[which, 0] + rng.random(k) * (shifts[which, 1] - shifts[which, 0])
            times = np.sort(world.local_day_start(day, p.team_offset_h) + local * HOUR)
            j = 0
            while j < len(times):
                kind = _weighted(rng, mix)
                chain, tools = _extraction_messages(world, rng, kind, "careful")
                chain = chain[: len(times) - j]
                t = times[j]
                model = world.model_at(rng, t, p.adoption)
                for msgs in chain:
                    out = lognormal_tokens(rng, 700 if kind == "agentic_multiturn" else 1800, 0.5, max_tokens)
                    rows.append(request_row(t, acct, key=_choice(rng, acct.api_keys), ip=ip, ua=ua, model=model,
                                            messages=msgs, tools=tools, max_tokens=max_tokens,
                                            temperature=temperature, stream=stream, out_tokens=out))
                    t += out / 50 + 30 * math.exp(0.6 * rng.standard_normal())
                    j += 1
    return accounts, rows


# ------------------------------------------------------------------------------------
def gen_reseller(world: World, p: P.ResellerParams, rng: np.random.Generator, name: str):
    """Generate ``attack:reseller``: a relay mixing customers' chat with extraction traffic.

    ``p.accounts_at(world.scale)`` accounts of one ``startup`` organisation (one domain, two
    cards, billing SG / HK / US / GB, 2-4 keys each, created 90-400 days before the window),
    sending ``Poisson(p.requests_per_account_day)`` requests a day round the clock
    (``GLOBAL_PRODUCT_HOURS``, UTC) through ``p.n_egress_ips`` IPs of ``p.clouds`` with one user
    agent. A share ``p.extraction_share`` of requests starts an extraction task (coding, maths,
    agentic, chat inside ``DATAGEN`` 70 % / ``COT`` 30 %; ``max_tokens`` 16000 or 8192,
    temperature 0.7, output lognormal median 2200 tokens, model via ``p.extraction_adoption``);
    the rest relay the last turn of a real chat (up to 3 turns, history included) with the
    customer's own parameters, the real reply length as output and model via ``p.adoption`` /
    ``p.p_mini``. The same generator makes ``benign:relay`` (``LegitRelayParams``: no extraction,
    labelled benign).

    Source: modelled on the 2026 distillation disclosures (``docs/simulator.md``); the wrappers are
    the project's own text (``wrappers.py``), the content inside is real corpus rows.

    Arguments, return value and errors follow :class:`~distillwatch.simulate.world.ArchetypeGenerator`.
    """
    n = p.accounts_at(world.scale)
    cc = _choice(rng, ("SG", "HK", "US", "GB"))
    org, domain = new_org_id(rng), company_domain(rng)
    cards = [new_card(rng) for _ in range(2)]
    egress = []
    for j in range(p.n_egress_ips):
        egress += world.ips(p.clouds[j % len(p.clouds)], 1, rng)
    created0 = world.t0 - rng.uniform(150, 400) * DAY
    accounts = [Account(
        account_id=new_account_id(rng), archetype=name, label=type(p).label,
        created_at=created0 + rng.uniform(0, 60) * DAY, email_domain=domain, payment_fingerprint=cards[i % 2],
        billing_country=cc, org_id=org, verification="startup", signup_ip=egress[0],
        api_keys=[new_key_id(rng) for _ in range(2 + int(rng.integers(3)))]) for i in range(n)]
    ext_mix = _available_mix(world, (("coding", 0.35), ("maths", 0.25), ("agentic_multiturn", 0.15),
                                     ("benign_chat", 0.25)))
    rows = []
    for acct in accounts:
        for day in range(world.days):
            k = int(rng.poisson(p.requests_per_account_day))
            times = np.sort(world.t0 + day * DAY + sample_hours(rng, GLOBAL_PRODUCT_HOURS, k) * HOUR)
            j = 0
            while j < len(times):
                t = times[j]
                ip = egress[int(rng.integers(len(egress)))]
                key = _choice(rng, acct.api_keys)
                if rng.random() < p.extraction_share:
                    kind = _weighted(rng, ext_mix)
                    chain, tools = _extraction_messages(world, rng, kind, "datagen" if rng.random() < 0.7 else "cot")
                    model = world.model_at(rng, t, p.extraction_adoption)
                    max_tokens = 16000 if rng.random() < 0.5 else 8192
                    for msgs in chain[: len(times) - j]:
                        out = lognormal_tokens(rng, 2200, 0.5, max_tokens)
                        rows.append(request_row(t, acct, key=key, ip=ip, ua=p.user_agent, model=model, messages=msgs,
                                                tools=tools, max_tokens=max_tokens, temperature=0.7, stream=False,
                                                out_tokens=out))
                        t += out / 50 + rng.uniform(3, 30)
                        j += 1
                else:  # a customer's ordinary chat, relayed
                    prompt = world.pick(rng, "benign_chat")
                    turns = list(chat_turns(prompt, rng, max_turns=3))
                    msgs, real = turns[-1]
                    max_tokens = int(_choice(rng, (1024, 2048, 4096, 4096)))
                    model = world.model_at(rng, t, p.adoption, p.p_mini)
                    out = int(min(max_tokens, real)) if real else lognormal_tokens(rng, 350, 0.8, max_tokens)
                    rows.append(request_row(t, acct, key=key, ip=ip, ua=p.user_agent, model=model, messages=msgs,
                                            max_tokens=max_tokens, temperature=float(_choice(rng, (0.7, 1.0, 1.0))),
                                            stream=bool(rng.random() < 0.7), out_tokens=out))
                    j += 1
    return accounts, rows
