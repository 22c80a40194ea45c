"""Benign archetypes, including the hard negatives that look like extraction on the surface.

Each ``gen_*`` function takes the ``World``, its parameters and its own rng, and returns
``(accounts, rows)``.
"""

from __future__ import annotations

import math

import numpy as np

from distillwatch.simulate import params as P
from distillwatch.simulate import templates as T
from distillwatch.simulate.sessions import agent_loop, chat_turns, reference_answer, task_tools
from distillwatch.simulate.world import (
    CASUAL_COUNTRY_WEIGHTS,
    DAY,
    FLAT_HOURS,
    GLOBAL_PRODUCT_HOURS,
    HOUR,
    HUMAN_HOURS,
    STUDENT_HOURS,
    WORK_HOURS,
    Account,
    World,
    browser_ua,
    company_domain,
    lognormal_tokens,
    mobile_ua,
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


def _choice(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def _weighted(rng: np.random.Generator, pairs):
    """Pick a name from ``((name, weight), ...)``."""
    total = sum(w for _, w in pairs)
    x = rng.random() * total
    for name, w in pairs:
        x -= w
        if x < 0:
            return name
    return pairs[-1][0]


def countries(world: World, weights: dict[str, float]) -> tuple[list[str], np.ndarray]:
    """Countries of ``weights`` that the IP intelligence can serve residential addresses for."""
    ok = set(world.intel.countries_with_residential())
    cs = [c for c in weights if c in ok] or list(weights)
    w = np.array([weights[c] for c in cs], float)
    return cs, w / w.sum()


def _activity(rng: np.random.Generator, mean: float) -> float:
    """A per-account activity probability with mean ``mean`` (Beta, so some heavy, many light)."""
    a = 1.2
    b = a * (1 - mean) / max(mean, 1e-6)
    return float(rng.beta(a, b))


def _chat_output(rng, real: int | None, median: float = 350, cap: int = 4096) -> int:
    if real:
        return int(min(cap, max(1, round(real * math.exp(0.15 * rng.standard_normal())))))
    return lognormal_tokens(rng, median, 0.8, cap)


def _gap(rng, out_tokens: int, think_median: float = 50.0) -> float:
    """Seconds between two turns of a person: the reply streams, then reading and typing."""
    return out_tokens / 45.0 + think_median * math.exp(0.8 * rng.standard_normal())


# ------------------------------------------------------------------------------------
def gen_casual(world: World, p: P.CasualParams, rng: np.random.Generator, name: str):
    """Generate ``benign:casual``: people chatting in a browser or mobile app.

    Each of ``p.accounts_at(world.scale)`` accounts gets a billing country drawn from
    ``CASUAL_COUNTRY_WEIGHTS`` (countries with residential ranges only), a UTC offset in that
    country, one client profile (browser / mobile user agent, ``max_tokens`` 1024-4096,
    temperature 0.7-1.0, mostly streaming), a home residential IP (changed with
    ``p.p_ip_change_day``, 60 % within the same /24) and four mobile IPs in the country; a few
    travel (``p.p_travel``) and use IPs of another country for 2-5 days. On an active day
    (per-account Beta probability with mean ``p.p_active_day``) it opens
    ``1 + Poisson(p.sessions_mean - 1)`` sessions at ``HUMAN_HOURS`` local time; each session
    replays a real ``benign_chat`` conversation turn by turn (at most ``p.max_turns``) on one
    model. Output tokens are the real reply's length (chars / 4, lognormal jitter with sigma
    0.15) or lognormal (median 350); turns are ``out / 45`` s of streaming plus a lognormal think time (median 50 s)
    apart.

    Source: behaviour and constants are the project's own modelling choices (``docs/simulator.md``),
    not fitted to data; the prompt texts are real corpus rows.

    Arguments, return value and errors follow :class:`~distillwatch.simulate.world.ArchetypeGenerator`.
    """
    cs, w = countries(world, CASUAL_COUNTRY_WEIGHTS)
    accounts, rows = [], []
    profiles = (  # (ua kind, max_tokens, temperature, stream)
        ("browser", 4096, 1.0, True), ("mobile", 2048, 0.7, True), ("browser", 2000, 0.7, True),
        ("mobile", 4096, 1.0, True), ("browser", 1024, 0.8, False))
    for _ in range(p.accounts_at(world.scale)):
        cc = cs[int(rng.choice(len(cs), p=w))]
        off = utc_offset(rng, cc)
        prof = profiles[int(rng.integers(len(profiles)))]
        ua = mobile_ua(rng) if prof[0] == "mobile" else browser_ua(rng)
        second_ua = mobile_ua(rng) if rng.random() < 0.25 else None
        home = world.ips("residential", 1, rng, cc)[0]
        mobile_pool = world.ips("mobile", 4, rng, cc)
        acct = Account(
            account_id=new_account_id(rng), archetype=name, label="benign",
            created_at=world.t0 - rng.uniform(3, 720) * DAY, email_domain=personal_mail(rng, cc),
            payment_fingerprint=new_card(rng) if rng.random() < 0.55 else None, billing_country=cc,
            org_id=new_org_id(rng) if rng.random() < 0.6 else None,
            verification="email" if rng.random() < 0.75 else "none", signup_ip=home,
            api_keys=[new_key_id(rng)])
        accounts.append(acct)
        p_day = _activity(rng, p.p_active_day)
        trip = None
        if rng.random() < p.p_travel:
            d0 = int(rng.integers(world.days))
            trip = (d0, d0 + int(rng.integers(2, 6)), cs[int(rng.choice(len(cs), p=w))])
        for day in range(world.days):
            if rng.random() < p.p_ip_change_day:
                home = world.same_prefix(home, 1, rng)[0] if rng.random() < 0.6 else world.ips(
                    "residential", 1, rng, cc)[0]
            if rng.random() >= p_day:
                continue
            away = trip is not None and trip[0] <= day < trip[1]
            n_sessions = 1 + int(rng.poisson(max(p.sessions_mean - 1, 0)))
            starts = world.local_day_start(day, off) + sample_hours(rng, HUMAN_HOURS, n_sessions) * HOUR
            for t in np.sort(starts):
                on_mobile = prof[0] == "mobile" or rng.random() < p.mobile_share * 0.3
                if away:
                    ip = world.ips("mobile" if on_mobile else "residential", 1, rng, trip[2])[0]
                else:
                    ip = mobile_pool[int(rng.integers(len(mobile_pool)))] if on_mobile else home
                s_ua = second_ua if (second_ua and on_mobile) else ua
                prompt = world.pick(rng, "benign_chat")
                turns = list(chat_turns(prompt, rng, p.max_turns))
                models = [world.model_at(rng, t, p.adoption, p.p_mini)]
                for msgs, real in turns:
                    out = _chat_output(rng, real, cap=prof[1])
                    rows.append(request_row(t, acct, key=acct.api_keys[0], ip=ip, ua=s_ua, model=models[0],
                                            messages=msgs, max_tokens=prof[1], temperature=prof[2],
                                            stream=prof[3], out_tokens=out))
                    t += _gap(rng, out)
    return accounts, rows


# ------------------------------------------------------------------------------------
def gen_developer(world: World, p: P.DeveloperParams, rng: np.random.Generator, name: str):
    """Generate ``benign:developer``: SDK users sending coding, chat and tool-use prompts.

    Per account: a country from ``CASUAL_COUNTRY_WEIGHTS``, home and office residential IPs
    there, one cloud dev-box IP (amazon, google, microsoft or digitalocean), one or two SDK user
    agents, a company (45 %) or personal email domain, 1-3 API keys, and fixed ``max_tokens``,
    temperature, streaming and system prompt (``templates.DEV_SYSTEM_PROMPTS``). Active days
    follow Beta probabilities with means ``p.p_active_weekday`` / ``p.p_active_weekend``; an
    active day has ``Poisson(p.requests_mean * intensity)`` requests (halved at weekends) in
    sessions of about 5 at ``WORK_HOURS`` local time. The IP is the cloud box with
    ``p.p_cloud_ip``, the office on weekdays 08:30-18:30 local (65 %), else home. Content kinds
    follow ``p.mix``; ``tool_use`` requests carry the task's tool schemas. Output tokens are
    lognormal (median 450 coding, 90 tool use, 300 chat; sigma 0.7); requests in a session are
    ``20 + out / 40`` s plus a lognormal pause (median 90 s) apart.

    With ``p.user_agent`` set, every account uses that one user agent (the user agents are still
    drawn, so the rest of the log is the same as without it).

    Source: behaviour and constants are the project's own modelling choices (``docs/simulator.md``),
    not fitted to data; the prompt texts are real corpus rows.

    Arguments, return value and errors follow :class:`~distillwatch.simulate.world.ArchetypeGenerator`.
    """
    cs, w = countries(world, CASUAL_COUNTRY_WEIGHTS)
    accounts, rows = [], []
    clouds = ("cloud:amazon", "cloud:google", "cloud:microsoft", "cloud:digitalocean")
    for _ in range(p.accounts_at(world.scale)):
        cc = cs[int(rng.choice(len(cs), p=w))]
        off = utc_offset(rng, cc)
        home, office = world.ips("residential", 2, rng, cc)
        cloud_ip = world.ips(_choice(rng, clouds), 1, rng)[0]
        uas = [sdk_ua(rng) for _ in range(1 + int(rng.random() < 0.4))]
        if p.user_agent:
            uas = [p.user_agent]
        company = rng.random() < 0.45
        acct = Account(
            account_id=new_account_id(rng), archetype=name, label="benign",
            created_at=world.t0 - rng.uniform(20, 1100) * DAY,
            email_domain=company_domain(rng) if company else personal_mail(rng, cc),
            payment_fingerprint=new_card(rng), billing_country=cc,
            org_id=new_org_id(rng) if rng.random() < 0.85 else None,
            verification=_weighted(rng, (("email", 0.6), ("none", 0.2), ("startup", 0.2))), signup_ip=home,
            api_keys=[new_key_id(rng) for _ in range(1 + int(rng.integers(3)))])
        accounts.append(acct)
        max_tokens = int(_choice(rng, (512, 1024, 2048, 4096, 4096, 8192)))
        temperature = float(_choice(rng, (0.0, 0.2, 0.5, 0.7, 1.0, 1.0)))
        stream = bool(rng.random() < 0.4)
        system = _choice(rng, T.DEV_SYSTEM_PROMPTS)
        intensity = math.exp(0.6 * rng.standard_normal())
        p_wd, p_we = _activity(rng, p.p_active_weekday), _activity(rng, p.p_active_weekend)
        for day in range(world.days):
            weekend = world.weekday(day) >= 5
            if rng.random() >= (p_we if weekend else p_wd):
                continue
            n = int(rng.poisson(p.requests_mean * intensity * (0.5 if weekend else 1.0)))
            if n == 0:
                continue
            n_sessions = max(1, int(math.ceil(n / 5)))
            starts = np.sort(world.local_day_start(day, off) + sample_hours(rng, WORK_HOURS, n_sessions) * HOUR)
            per = np.diff(np.linspace(0, n, n_sessions + 1).round().astype(int))
            for t, k in zip(starts, per):
                local_h = ((t - world.local_day_start(day, off)) / HOUR) % 24
                at_work = not weekend and 8.5 <= local_h <= 18.5 and rng.random() < 0.65
                ip = cloud_ip if rng.random() < p.p_cloud_ip else (office if at_work else home)
                ua = _choice(rng, uas)
                models = [world.model_at(rng, t, p.adoption, p.p_mini)]
                for _ in range(k):
                    kind = _weighted(rng, p.mix)
                    prompt = world.pick(rng, kind)
                    msgs = ([{"role": "system", "content": system}] if system else []) + [
                        {"role": "user", "content": prompt.text}]
                    tools = task_tools(prompt) if kind == "tool_use" else None
                    median = {"coding": 450, "tool_use": 90}.get(kind, 300)
                    out = lognormal_tokens(rng, median, 0.7, max_tokens)
                    rows.append(request_row(t, acct, key=_choice(rng, acct.api_keys), ip=ip, ua=ua,
                                            model=models[0], messages=msgs, tools=tools, max_tokens=max_tokens,
                                            temperature=temperature, stream=stream, out_tokens=out))
                    t += 20 + out / 40 + 90 * math.exp(0.9 * rng.standard_normal())
    return accounts, rows


def _ticket_text(world: World, rng: np.random.Generator) -> str:
    """A customer message for the enterprise pipeline: a real first user turn, preferring
    ShareGPT / AlpacaEval over HH-RLHF's red-teaming prompts."""
    for _ in range(4):
        p = world.pick(rng, "benign_chat")
        if p.source != "hh_rlhf":
            break
    return p.text[:1500]


# ------------------------------------------------------------------------------------
def gen_enterprise(world: World, p: P.EnterpriseParams, rng: np.random.Generator, name: str):
    """Generate ``benign:enterprise``: a verified organisation's templated automation.

    For each of ``p.n_orgs`` organisations: ``p.accounts_at(world.scale)`` accounts sharing
    one ``org_id``, email domain, payment fingerprint, ``verified_org`` verification and
    ``p.n_egress_ips`` egress IPs of ``p.cloud`` (US). The first ``p.legacy_completion_share`` of
    them use the legacy completion API (``prompt``, ``okhttp`` user agent), the rest ``messages``.
    Volume is ``max(40, p.requests_per_day * scale) / p.n_orgs`` requests a day (0.55x at
    weekends), split across accounts by a Dirichlet(3) draw, round the clock with a
    business-hours bump at UTC-4. Each request wraps a real ``benign_chat`` first turn
    (preferring ShareGPT / AlpacaEval over HH-RLHF, cut to 1500 chars) in one of
    ``templates.ENTERPRISE_TEMPLATES`` (85 % the account's main one); ``ticket_triage`` runs on the
    mini model, the others on the old model (no new-model adoption). Temperature 0, no
    streaming, output lognormal around the template's ``out_median`` (sigma 0.35).

    Source: behaviour and constants are the project's own modelling choices (``docs/simulator.md``),
    not fitted to data; the prompt texts are real corpus rows.

    Arguments, return value and errors follow :class:`~distillwatch.simulate.world.ArchetypeGenerator`.
    """
    accounts, rows = [], []
    n_acc = p.accounts_at(world.scale)
    for _org in range(p.n_orgs):
        org, domain, card = new_org_id(rng), company_domain(rng), new_card(rng)
        egress = world.ips(p.cloud, p.n_egress_ips, rng, "US")
        created0 = world.t0 - rng.uniform(300, 700) * DAY
        legacy_n = int(round(n_acc * p.legacy_completion_share))
        org_accounts = []
        for i in range(n_acc):
            acct = Account(
                account_id=new_account_id(rng), archetype=name, label="benign",
                created_at=created0 + rng.uniform(0, 250) * DAY, email_domain=domain, payment_fingerprint=card,
                billing_country="US", org_id=org, verification="verified_org", signup_ip=egress[0],
                api_keys=[new_key_id(rng) for _ in range(2 + int(rng.integers(2)))])
            org_accounts.append(acct)
        accounts += org_accounts
        per_day = max(40.0, p.requests_per_day * world.scale) / p.n_orgs
        share = rng.dirichlet(np.full(n_acc, 3.0))
        profile = 0.6 * FLAT_HOURS / FLAT_HOURS.sum() + 0.4 * WORK_HOURS / WORK_HOURS.sum()
        for i, acct in enumerate(org_accounts):
            legacy = i < legacy_n
            main_tpl = i % len(T.ENTERPRISE_TEMPLATES)
            ua = "okhttp/4.12.0" if legacy else "OpenAI/Python 1.35.10"
            for day in range(world.days):
                weekend = world.weekday(day) >= 5
                n = int(rng.poisson(per_day * share[i] * (0.55 if weekend else 1.0)))
                ts = np.sort(world.local_day_start(day, -4) + sample_hours(rng, profile, n) * HOUR)
                for t in ts:
                    tpl = T.ENTERPRISE_TEMPLATES[main_tpl if rng.random() < 0.85 else int(rng.integers(3))]
                    text = _ticket_text(world, rng)
                    user = tpl["user"].format(ticket_id=int(rng.integers(100000, 999999)),
                                              channel=_choice(rng, T.ENTERPRISE_CHANNELS), text=text)
                    model = world.params.mini_model if tpl["name"] == "ticket_triage" else world.params.old_model
                    out = lognormal_tokens(rng, tpl["out_median"], 0.35, tpl["max_tokens"])
                    ip = egress[int(rng.integers(len(egress)))]
                    common = dict(key=_choice(rng, acct.api_keys), ip=ip, ua=ua, model=model,
                                  max_tokens=tpl["max_tokens"], temperature=0.0, stream=False, out_tokens=out)
                    if legacy:
                        prompt = (tpl["system"] + "\n\n" if tpl["system"] else "") + user
                        rows.append(request_row(t, acct, prompt=prompt, **common))
                    else:
                        msgs = ([{"role": "system", "content": tpl["system"]}] if tpl["system"] else []) + [
                            {"role": "user", "content": user}]
                        rows.append(request_row(t, acct, messages=msgs, **common))
    return accounts, rows


# ------------------------------------------------------------------------------------
def gen_coding_agent(world: World, p: P.CodingAgentParams, rng: np.random.Generator, name: str):
    """Generate ``benign:coding_agent``: a coding-agent product's multi-step agent runs.

    One organisation (``startup`` verification, one card, one domain, billing US) with
    ``p.accounts_at(world.scale)`` accounts of 3 keys each; the first account carries 85 % of
    the runs when there are several. Runs per day are ``Poisson(max(5, p.steps_per_day * scale / p.steps_mean))``,
    started at ``GLOBAL_PRODUCT_HOURS`` (UTC) from ``p.n_egress_ips`` IPs of ``p.cloud``. A run
    is a real ``coding`` (80 %) or ``tool_use`` task under ``templates.CODING_AGENT_SYSTEM`` with
    ``templates.CODING_AGENT_TOOLS``, ``min(p.max_steps, Geometric(1 / p.steps_mean))`` steps
    built by ``sessions.agent_loop`` (history grows each step), one model per run
    (``p.adoption``), ``max_tokens`` 8192, temperature 0.2, streaming. Output tokens are
    lognormal (median 120, 260 on the last step; sigma 0.6); steps are ``out / 60 + 1`` s plus a
    lognormal pause (median 8 s) apart.

    Source: behaviour and constants are the project's own modelling choices (``docs/simulator.md``),
    not fitted to data; the prompt texts are real corpus rows.

    Arguments, return value and errors follow :class:`~distillwatch.simulate.world.ArchetypeGenerator`.
    """
    org, domain, card = new_org_id(rng), company_domain(rng), new_card(rng)
    egress = world.ips(p.cloud, p.n_egress_ips, rng)
    n_acc = p.accounts_at(world.scale)
    accounts = [Account(
        account_id=new_account_id(rng), archetype=name, label="benign",
        created_at=world.t0 - rng.uniform(60, 400) * DAY, email_domain=domain, payment_fingerprint=card,
        billing_country="US", org_id=org, verification="startup", signup_ip=egress[0],
        api_keys=[new_key_id(rng) for _ in range(3)]) for _ in range(n_acc)]
    share = np.array([0.85] + [0.15 / max(n_acc - 1, 1)] * (n_acc - 1)) if n_acc > 1 else np.ones(1)
    tools = list(T.CODING_AGENT_TOOLS)
    tool_names = [t["name"] for t in tools]
    ua = "OpenAI/JS 4.67.1"
    runs_per_day = max(5.0, p.steps_per_day * world.scale / p.steps_mean)
    rows = []
    for day in range(world.days):
        n_runs = int(rng.poisson(runs_per_day))
        starts = world.t0 + day * DAY + sample_hours(rng, GLOBAL_PRODUCT_HOURS, n_runs) * HOUR
        for t in np.sort(starts):
            acct = accounts[int(rng.choice(n_acc, p=share))]
            key = _choice(rng, acct.api_keys)
            ip = egress[int(rng.integers(len(egress)))]
            model = world.model_at(rng, t, p.adoption)
            system = T.CODING_AGENT_SYSTEM.format(**{k: _choice(rng, v) for k, v in T.CODING_AGENT_ENV.items()})
            task = world.pick(rng, "coding" if rng.random() < 0.8 else "tool_use").text
            n_steps = min(p.max_steps, int(rng.geometric(1 / p.steps_mean)))
            for k, msgs in enumerate(agent_loop(system, task, n_steps, rng, tool_names)):
                last = k == n_steps - 1
                out = lognormal_tokens(rng, 260 if last else 120, 0.6, 8192)
                rows.append(request_row(t, acct, key=key, ip=ip, ua=ua, model=model, messages=msgs, tools=tools,
                                        max_tokens=8192, temperature=0.2, stream=True, out_tokens=out))
                t += out / 60 + 1 + 8 * math.exp(0.7 * rng.standard_normal())
    return accounts, rows


# ------------------------------------------------------------------------------------
_RESEARCH_DOMAINS = (("cmu.edu", "US", -4), ("ed.ac.uk", "GB", 1), ("ethz.ch", "CH", 2), ("utoronto.ca", "CA", -4),
                     ("nyu.edu", "US", -4), ("tum.de", "DE", 2), ("kaist.ac.kr", "KR", 9), ("iisc.ac.in", "IN", 5.5),
                     ("u-tokyo.ac.jp", "JP", 9), ("inria.fr", "FR", 2), ("ai2-research.org", "US", -7))


def gen_eval_harness(world: World, p: P.EvalHarnessParams, rng: np.random.Generator, name: str):
    """Generate ``benign:eval_harness``: researchers each running one benchmark in a burst.

    Per account: a research / university domain with its country and UTC offset, one
    datacenter or cloud IP, ``research`` (60 %) or ``edu`` verification. The benchmark is GSM8K
    (65 % when ``maths`` is loaded; few-shot from three real reference solutions) or coding
    (``coding``, else ``tool_use`` prompts), wrapped in ``templates.EVAL_MATH_TEMPLATES`` /
    ``EVAL_CODE_TEMPLATES``. ``max(60, round(U(p.items_range) * min(1, sqrt(scale))))`` items (at
    most the pool size, without replacement) are sent over ``U(p.burst_hours)`` hours at
    temperature 0, no streaming, ``max_tokens`` 1024 (maths) / 2048. With
    ``p.new_model_first`` the first account runs on the new model 3-18 h after its release;
    the others run on a random day between 09:00 and 17:00 local time on the old (2/3) or mini
    (1/3) model. 4-11 trial requests come in the 3 h starting one day before the run. Output
    tokens are lognormal (median 190 maths, 260 code; sigma 0.5).

    Source: behaviour and constants are the project's own modelling choices (``docs/simulator.md``),
    not fitted to data; the prompt texts are real corpus rows.

    Arguments, return value and errors follow :class:`~distillwatch.simulate.world.ArchetypeGenerator`.
    Raises, in addition:
        ValueError: neither ``coding`` nor ``tool_use`` prompts are loaded when a coding
            benchmark is drawn (numpy cannot sample from an empty pool).
    """
    accounts, rows = [], []
    for i in range(p.accounts_at(world.scale)):
        domain, cc, off = _RESEARCH_DOMAINS[int(rng.integers(len(_RESEARCH_DOMAINS)))]
        ip = world.ips(_choice(rng, ("datacenter", "cloud:google", "cloud:amazon", "cloud:microsoft")), 1, rng)[0]
        acct = Account(
            account_id=new_account_id(rng), archetype=name, label="benign",
            created_at=world.t0 - rng.uniform(30, 600) * DAY, email_domain=domain,
            payment_fingerprint=new_card(rng), billing_country=cc, org_id=new_org_id(rng),
            verification="research" if rng.random() < 0.6 else "edu", signup_ip=ip, api_keys=[new_key_id(rng)])
        accounts.append(acct)
        maths = world.has("maths") and rng.random() < 0.65
        pool = world.corpora.maths if maths else (world.corpora.coding or world.corpora.tool_use)
        if maths:
            tpl = _choice(rng, T.EVAL_MATH_TEMPLATES)
            shots = [pool[int(j)] for j in rng.choice(len(pool), size=min(3, len(pool)), replace=False)]
            fewshot = "".join(f"Q: {s.text}\nA: {reference_answer(s) or ''}\n\n" for s in shots)
        else:
            tpl, fewshot = _choice(rng, T.EVAL_CODE_TEMPLATES), ""
        ua = _choice(rng, ("OpenAI/Python 1.40.6", "OpenAI/Python 1.47.0", "python-httpx/0.27.0",
                           "python-requests/2.31.0"))
        max_tokens = 1024 if maths else 2048
        n_items = max(60, int(round(rng.integers(*p.items_range) * min(1.0, math.sqrt(world.scale)))))
        items = [pool[int(j)] for j in rng.choice(len(pool), size=min(n_items, len(pool)), replace=False)]
        on_new = p.new_model_first and i == 0
        if on_new:
            t_start = world.release + rng.uniform(3, 18) * HOUR
        else:
            day = int(rng.integers(1, world.days - 1))
            t_start = world.local_day_start(day, off) + rng.uniform(9, 17) * HOUR
        dur = rng.uniform(*p.burst_hours) * HOUR
        model = world.params.new_model if on_new else _choice(rng, (world.params.old_model, world.params.old_model,
                                                                    world.params.mini_model))
        # a few trial requests the day before, then the run
        trial_t = t_start - DAY + np.sort(rng.uniform(0, 3 * HOUR, int(rng.integers(4, 12))))
        trial_m = world.params.old_model if on_new else model
        times = np.sort(t_start + rng.uniform(0, dur, len(items)))
        plan = [(t, items[int(rng.integers(len(items)))], trial_m) for t in trial_t] + [
            (t, it, model) for t, it in zip(times, items)]
        for t, it, m in plan:
            text = tpl.format(question=it.text, fewshot=fewshot)
            out = lognormal_tokens(rng, 190 if maths else 260, 0.5, max_tokens)
            rows.append(request_row(t, acct, key=acct.api_keys[0], ip=ip, ua=ua, model=m,
                                    messages=[{"role": "user", "content": text}], max_tokens=max_tokens,
                                    temperature=0.0, stream=False, out_tokens=out))
    return accounts, rows


# ------------------------------------------------------------------------------------
def gen_campus(world: World, p: P.CampusParams, rng: np.random.Generator, name: str):
    """Generate ``benign:campus``: students of one university behind one campus NAT.

    A NAT pool of ``p.n_nat_ips`` residential IPs in one /24 of ``p.country`` (fixed UTC-5),
    one course ``org_id`` (shared by 60 % of students), signups within one week 18-30 days
    before the window, ``p.domain`` email and ``edu`` verification. Students use the course's
    pinned SDK (40 %; ``max_tokens`` 1024, no streaming) or a browser (two shared lab user agents
    or their own; 4096, streaming), temperature 1.0. Two deadline days raise activity (2.2x) and
    volume (1.5x) on the day and the day before, with evening hours weighted 2.5x
    (``STUDENT_HOURS``). On campus (weekdays 08:00-19:00 local, ``p.p_on_campus``) requests come
    from the NAT pool, else from the student's home IP. Content follows ``p.mix``: chat as real
    multi-turn conversations (at most 4 turns), other kinds prefixed with
    ``templates.STUDENT_PREFIXES``. Output tokens use the real reply length or lognormal
    (median 380); turns are ``out / 45`` s plus a lognormal pause (median 70 s) apart.

    Source: behaviour and constants are the project's own modelling choices (``docs/simulator.md``),
    not fitted to data; the prompt texts are real corpus rows.

    Arguments, return value and errors follow :class:`~distillwatch.simulate.world.ArchetypeGenerator`.
    Raises, in addition:
        ValueError: ``world.days < 4`` (two distinct deadline days are drawn from days 2 to
            ``days - 1``).
    """
    off = -5.0
    base = world.ips("residential", 1, rng, p.country)[0]
    nat = [base] + world.same_prefix(base, max(0, p.n_nat_ips - 1), rng)
    course_org = new_org_id(rng)
    week0 = world.t0 - rng.uniform(18, 30) * DAY
    lab_uas = [browser_ua(rng) for _ in range(2)]
    course_sdk = "OpenAI/Python 1.40.6"
    deadlines = sorted(int(d) for d in rng.choice(np.arange(2, world.days), size=2, replace=False))
    accounts, rows = [], []
    for _ in range(p.accounts_at(world.scale)):
        home = world.ips("residential", 1, rng, p.country)[0]
        acct = Account(
            account_id=new_account_id(rng), archetype=name, label="benign",
            created_at=week0 + rng.gamma(1.2, 1.0) * DAY % (7 * DAY), email_domain=p.domain,
            payment_fingerprint=new_card(rng) if rng.random() < 0.3 else None, billing_country=p.country,
            org_id=course_org if rng.random() < 0.6 else None, verification="edu",
            signup_ip=nat[int(rng.integers(len(nat)))], api_keys=[new_key_id(rng)])
        accounts.append(acct)
        sdk = rng.random() < 0.4
        ua = course_sdk if sdk else (lab_uas[int(rng.integers(2))] if rng.random() < 0.6 else browser_ua(rng))
        max_tokens, temperature, stream = (1024, 1.0, False) if sdk else (4096, 1.0, True)
        p_day = _activity(rng, p.p_active_day)
        for day in range(world.days):
            crunch = any(0 <= d - day <= 1 for d in deadlines)
            weekend = world.weekday(day) >= 5
            if rng.random() >= min(0.95, p_day * (2.2 if crunch else 1.0) * (0.6 if weekend else 1.0)):
                continue
            n = max(1, int(rng.poisson(p.requests_mean * (1.5 if crunch else 1.0))))
            n_sessions = max(1, int(math.ceil(n / 4)))
            hours = STUDENT_HOURS.copy()
            if crunch:
                hours[19:24] *= 2.5
            starts = np.sort(world.local_day_start(day, off) + sample_hours(rng, hours, n_sessions) * HOUR)
            per = np.diff(np.linspace(0, n, n_sessions + 1).round().astype(int))
            for t, k in zip(starts, per):
                local_h = ((t - world.local_day_start(day, off)) / HOUR) % 24
                on_campus = not weekend and 8 <= local_h <= 19 and rng.random() < p.p_on_campus
                ip = nat[int(rng.integers(len(nat)))] if on_campus else home
                model = world.model_at(rng, t, p.adoption, p.p_mini)
                sent = 0
                while sent < k:
                    kind = _weighted(rng, p.mix)
                    prompt = world.pick(rng, kind)
                    if kind == "benign_chat":
                        turns = list(chat_turns(prompt, rng, max_turns=min(4, k - sent)))
                    else:
                        pre = _choice(rng, T.STUDENT_PREFIXES)
                        turns = [([{"role": "user", "content": pre + prompt.text}], None)]
                    for msgs, real in turns:
                        out = _chat_output(rng, real, median=380, cap=max_tokens)
                        rows.append(request_row(t, acct, key=acct.api_keys[0], ip=ip, ua=ua, model=model,
                                                messages=msgs, max_tokens=max_tokens, temperature=temperature,
                                                stream=stream, out_tokens=out))
                        t += _gap(rng, out, 70)
                        sent += 1
    return accounts, rows


# ------------------------------------------------------------------------------------
def gen_burst_once(world: World, p: P.BurstOnceParams, rng: np.random.Generator, name: str):
    """Generate ``benign:burst_once``: light users who run one big batch job on one day.

    Per account: a country from ``CASUAL_COUNTRY_WEIGHTS`` and its UTC offset, one home
    residential IP, one SDK user agent, personal or company email, created 30-900 days before the
    window, ``email`` verification. On each day (``p.p_active_day``) ``Poisson(p.requests_mean)``
    chat or coding requests at ``WORK_HOURS`` local time. On one random day the account sends
    ``U(p.burst_requests)`` requests (at most ``1.5 * scale``-scaled) over ``U(p.burst_hours)``
    hours from its home or a cloud box: the same instruction ("Summarise ...", "Rewrite ...",
    "Translate ...") around real chat texts, ``max_tokens`` 1024, temperature 0.3. Output
    lognormal (median 220 tokens, sigma 0.6).

    Source: the project's own modelling of a benign one-off batch job (``docs/simulator.md``); the
    texts inside are real corpus rows.

    Arguments, return value and errors follow :class:`~distillwatch.simulate.world.ArchetypeGenerator`.
    """
    cs, w = countries(world, CASUAL_COUNTRY_WEIGHTS)
    jobs = ("Summarise the following text in three bullet points:\n\n{x}",
            "Rewrite this in plain English for a newsletter:\n\n{x}",
            "Translate the following into German:\n\n{x}",
            "Extract every person and organisation named in this text as a JSON list:\n\n{x}")
    accounts, rows = [], []
    for _ in range(p.accounts_at(world.scale)):
        cc = cs[int(rng.choice(len(cs), p=w))]
        off = utc_offset(rng, cc)
        home = world.ips("residential", 1, rng, cc)[0]
        ua = sdk_ua(rng)
        acct = Account(
            account_id=new_account_id(rng), archetype=name, label="benign",
            created_at=world.t0 - rng.uniform(30, 900) * DAY,
            email_domain=company_domain(rng) if rng.random() < 0.4 else personal_mail(rng, cc),
            payment_fingerprint=new_card(rng), billing_country=cc, org_id=None, verification="email",
            signup_ip=home, api_keys=[new_key_id(rng)])
        accounts.append(acct)
        for day in range(world.days):
            if rng.random() >= p.p_active_day:
                continue
            k = int(rng.poisson(p.requests_mean))
            times = np.sort(world.local_day_start(day, off) + sample_hours(rng, WORK_HOURS, k) * HOUR)
            for t in times:
                kind = "coding" if rng.random() < 0.3 and world.has("coding") else "benign_chat"
                prompt = world.pick(rng, kind)
                out = lognormal_tokens(rng, 300, 0.7, 2048)
                rows.append(request_row(t, acct, key=acct.api_keys[0], ip=home, ua=ua,
                                        model=world.model_at(rng, t, p.adoption), max_tokens=2048,
                                        messages=[{"role": "user", "content": prompt.text}],
                                        temperature=0.7, stream=False, out_tokens=out))
        day = int(rng.integers(0, world.days))
        n_job = int(round(rng.integers(*p.burst_requests) * min(1.0, 1.5 * world.scale)))
        job = _choice(rng, jobs)
        ip = home if rng.random() < 0.6 else world.ips("cloud:amazon", 1, rng)[0]
        t0 = world.local_day_start(day, off) + rng.uniform(8, 15) * HOUR
        times = np.sort(t0 + rng.uniform(0, rng.uniform(*p.burst_hours) * HOUR, n_job))
        model = world.model_at(rng, t0, p.adoption)
        for t in times:
            text = world.pick(rng, "benign_chat").text
            out = lognormal_tokens(rng, 220, 0.6, 1024)
            rows.append(request_row(t, acct, key=acct.api_keys[0], ip=ip, ua=ua, model=model, max_tokens=1024,
                                    messages=[{"role": "user", "content": job.format(x=text)}],
                                    temperature=0.3, stream=False, out_tokens=out))
    return accounts, rows
