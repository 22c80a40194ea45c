"""Request-level signals (``request.*``): one SQL pass over tiny hand-made logs.

Each table row names a request, what it contains and the value its docstring implies:
lexicons and rules are in ``distillwatch/signals/request.py``, the template method in
``PromptTemplateSignal`` / ``features.request_features.mine_templates``.
"""

from __future__ import annotations

import ipaddress
import re

import pandas as pd
import pytest

from helpers import FakeIntel, req, request_features, write_jsonl, write_tiny_intel

from distillwatch.signals.request import PromptTemplateSignal
from distillwatch.simulate.templates import CODING_AGENT_SYSTEM

WEATHER_TOOL = {"name": "get_weather", "description": "Current weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
OPENAI_TOOL = {"type": "function", "function": WEATHER_TOOL}
FILLER = "lorem ipsum dolor sit amet " * 80  # 2,160 characters that match no lexicon
AGENT_SYSTEM = CODING_AGENT_SYSTEM.format(os="Linux", shell="bash", repo="api-server")
NATALIA = ("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
           "How many clips did Natalia sell altogether in April and May?")

# ---------------------------------------------------------------------------------------------
# request.capability
# ---------------------------------------------------------------------------------------------
# (request_id, row, expected capability, expected flags that must hold)
CAPABILITY_CASES = [
    ("coding", req("coding", "Write a Python function that reverses a list."),
     "coding", {"is_coding": True, "is_agentic": False, "is_rubric": False, "is_maths": False}),
    ("agentic_tools", req("agentic_tools", "What's the weather in Paris today?", tools=[WEATHER_TOOL]),
     "agentic", {"is_agentic": True, "is_coding": False}),
    ("agentic_openai_tools", req("agentic_openai_tools", "What's the weather in Paris today?", tools=[OPENAI_TOOL]),
     "agentic", {"is_agentic": True}),
    ("agentic_tool_turn", req("agentic_tool_turn", messages=[
        {"role": "user", "content": "What's the weather in Paris today?"},
        {"role": "assistant", "content": None},
        {"role": "tool", "content": "18 C and sunny"}]),
     "agentic", {"is_agentic": True}),
    ("agentic_function_turn", req("agentic_function_turn", messages=[
        {"role": "user", "content": "What's the weather in Paris today?"},
        {"role": "function", "content": "18 C and sunny"}]),
     "agentic", {"is_agentic": True}),
    ("rubric", req("rubric", "Grade this answer against the rubric. Answer: Paris is the capital of France."),
     "rubric_grading", {"is_rubric": True}),
    ("maths_gsm8k", req("maths_gsm8k", NATALIA), "maths", {"is_maths": True, "is_coding": False, "is_cot": False}),
    ("chat", req("chat", "hello, how was your weekend"), "general_chat",
     {"is_coding": False, "is_agentic": False, "is_long": False, "is_reasoning": False, "is_rubric": False,
      "is_maths": False, "is_cot": False}),
    ("long_max_tokens", req("long_max_tokens", "Tell me about the history of Rome.", max_tokens=8000),
     "long_horizon", {"is_long": True}),
    ("not_long_7999", req("not_long_7999", "Tell me about the history of Rome.", max_tokens=7999),
     "general_chat", {"is_long": False}),
    ("long_6000_chars", req("long_6000_chars", "la " * 2000), "long_horizon", {"is_long": True}),
    ("not_long_5999_chars", req("not_long_5999_chars", "la " * 1999 + "la"), "general_chat", {"is_long": False}),
    ("long_lexicon", req("long_lexicon", "Give me a detailed plan for my vegetable garden."),
     "long_horizon", {"is_long": True}),
    ("reasoning", req("reasoning", "Why is the sky blue? Explain your reasoning."),
     "reasoning", {"is_reasoning": True, "is_cot": True}),
    # priority order rubric_grading > agentic > coding > long_horizon > reasoning > maths > general_chat
    ("rubric_over_coding", req("rubric_over_coding", "Grade this Python function against the rubric."),
     "rubric_grading", {"is_rubric": True, "is_coding": True}),
    ("agentic_over_coding", req("agentic_over_coding", "Write a Python script that prints the date.",
                                tools=[WEATHER_TOOL]),
     "agentic", {"is_agentic": True, "is_coding": True}),
    ("coding_over_long", req("coding_over_long", "Write a Python script that prints the date.", max_tokens=9000),
     "coding", {"is_coding": True, "is_long": True}),
    ("long_over_reasoning", req("long_over_reasoning", "Explain your reasoning about Roman history.",
                                max_tokens=9000),
     "long_horizon", {"is_long": True, "is_reasoning": True}),
    ("reasoning_over_maths", req("reasoning_over_maths", "Solve 12 + 7 step by step."),
     "reasoning", {"is_reasoning": True, "is_maths": True}),
    ("coding_over_maths", req("coding_over_maths", "Write a Python function to calculate the total cost."),
     "coding", {"is_coding": True, "is_maths": True}),
    # the system prompt is read too
    ("system_prompt_coding", req("system_prompt_coding", "hello there", system="You are a coding assistant."),
     "coding", {"is_coding": True}),
    # only the LAST user message is read: the earlier coding ask does not count
    ("last_user_message", req("last_user_message", messages=[
        {"role": "user", "content": "Write a Python function that sorts a list."},
        {"role": "assistant", "content": "def f(x): return sorted(x)"},
        {"role": "user", "content": "thanks, that was great"}]),
     "general_chat", {"is_coding": False}),
    ("prompt_form", {"request_id": "prompt_form", "timestamp": "2026-03-02T10:00:00Z", "account_id": "acct_a",
                     "model": "m", "prompt": "Debug this javascript snippet for me."},
     "coding", {"is_coding": True}),
    ("content_parts", req("content_parts", messages=[{"role": "user", "content": [
        {"type": "text", "text": "Write a Python"}, {"type": "text", "text": "function please."}]}]),
     "coding", {"is_coding": True}),
    # near misses: word boundaries
    ("near_miss_words", req("near_miss_words", "The judges loved the decoder ring at the fair."),
     "general_chat", {"is_rubric": False, "is_coding": False}),
    ("near_miss_recipe", req("near_miss_recipe", "My grandmother's recipe for apple pie is lovely."),
     "general_chat", {}),
]

# ---------------------------------------------------------------------------------------------
# request.cot_elicitation
# ---------------------------------------------------------------------------------------------
COT_CASES = [
    ("cot_step_by_step", req("cot_step_by_step", "What is 17 * 23? Let's think step by step."), True),
    ("cot_hyphenated", req("cot_hyphenated", "Answer with a step-by-step derivation."), True),
    ("cot_chain", req("cot_chain", "Use chain-of-thought before you reply."), True),
    ("cot_show_work", req("cot_show_work", "Show your work."), True),
    ("cot_show_all", req("cot_show_all", "Show all of your reasoning."), True),
    ("cot_think_tag", req("cot_think_tag", "Put everything inside <think> tags first."), True),
    ("cot_think_aloud", req("cot_think_aloud", "Think aloud while solving it."), True),
    ("cot_walk", req("cot_walk", "Walk me through your logic."), True),
    ("cot_monologue", req("cot_monologue", "Write out your inner monologue."), True),
    ("cot_system", req("cot_system", "hi", system="Always explain your reasoning in detail."), True),
    # CoT asked only in the system prompt: the lexicon catches it (the classifier's flag needs the user's ask)
    ("cot_system_only", req("cot_system_only", "What is the capital of Australia?",
                            system="Always think out loud: show each step of your reasoning before answering."), True),
    # a coding-agent product's operating instructions are not a CoT ask (issue 3, hn_coding_agent)
    ("nocot_agent_system", req("nocot_agent_system",
                               "Add a --verbose flag to the CLI in cli.py that prints each file as it is processed.",
                               system=AGENT_SYSTEM, tools=[WEATHER_TOOL]), False),
    ("cot_end_of_long", req("cot_end_of_long", FILLER + FILLER + "Let's think step by step."), True),
    # near misses
    ("nocot_first_step", req("nocot_first_step", "I took the first step today."), False),
    ("nocot_show_me", req("nocot_show_me", "Show me your car."), False),
    ("nocot_think_so", req("nocot_think_so", "I think so too."), False),
    ("cot_one_step", req("cot_one_step", "Take it one step at a time."), True),
    ("nocot_step_back", req("nocot_step_back", "I took a step back from the project for a while."), False),
    ("nocot_tools_first", req("nocot_tools_first", "Use the tools to look things up before answering."), False),
    ("nocot_glued", req("nocot_glued", "stepbystep is my username"), False),
    ("nocot_chain_of_command", req("nocot_chain_of_command", "The chain of command is clear."), False),
    ("nocot_plain", req("nocot_plain", "hello, how was your weekend"), False),
    # a long text is read only at its first and last SCAN_CHARS characters (documented cost bound)
    ("nocot_middle_of_long", req("nocot_middle_of_long", FILLER + "Let's think step by step. " + FILLER), False),
]

# ---------------------------------------------------------------------------------------------
# request.client_fingerprint
# ---------------------------------------------------------------------------------------------
FP_BASE = dict(user_agent="aurora-python/1.8.2", max_tokens=1000, temperature=0.7, stream=False)


def _fp(rid, text="Question number one for the model", account="acct_a", system="You are helpful.", **over):
    kw = dict(FP_BASE)
    kw.update(over)
    kw = {k: v for k, v in kw.items() if v is not None}
    return req(rid, text, account=account, system=system, **kw)


FP_ROWS = [
    _fp("fp_base"),
    _fp("fp_same", text="A completely different question", account="acct_b", client_ip="1.2.3.4"),
    _fp("fp_temp", temperature=0.2),
    _fp("fp_no_temp", temperature=None),
    _fp("fp_ua", user_agent="curl/8.5.0"),
    _fp("fp_max", max_tokens=1001),
    _fp("fp_stream", stream=True),
    _fp("fp_tools", tools=[WEATHER_TOOL]),
    _fp("fp_system", system="You are terse."),
    _fp("fp_nosys", system=None),
]
# (request, same client_fp as fp_base?)
FP_CASES = [("fp_same", True), ("fp_temp", False), ("fp_no_temp", False), ("fp_ua", False), ("fp_max", False),
            ("fp_stream", False), ("fp_tools", False), ("fp_system", False), ("fp_nosys", False)]

# ---------------------------------------------------------------------------------------------
# request.ip_intel (fake intelligence)
# ---------------------------------------------------------------------------------------------
FAKE_INTEL = FakeIntel({
    "1.2.3.4": dict(asn=64500, as_org="Example ISP", country="DE", prefix="1.2.3.0/24"),
    "9.9.9.9": dict(asn=64600, as_org="Tor host", country="NL", prefix="9.9.9.0/24", proxy_kind="tor"),
    "8.8.1.1": dict(asn=64601, as_org="VPN co", country="SE", prefix="8.8.1.0/24", proxy_kind="vpn"),
    "3.4.5.6": dict(asn=16509, as_org="AMAZON-02", country="US", prefix="3.4.5.0/24", cloud_provider="amazon",
                    proxy_kind="cloud"),
    "5.6.7.8": dict(asn=64501, as_org="Hosting", country="FR", prefix="5.6.7.0/24", proxy_kind="datacenter"),
})
IP_ROWS = [req("ip_res", client_ip="1.2.3.4"), req("ip_res2", client_ip="1.2.3.4"),
           req("ip_tor", client_ip="9.9.9.9"), req("ip_vpn", client_ip="8.8.1.1"),
           req("ip_cloud", client_ip="3.4.5.6"), req("ip_dc", client_ip="5.6.7.8"),
           req("ip_unknown", client_ip="10.0.0.1"), req("ip_none")]
# (request, asn, as_org, ip_country, ip_prefix, cloud_provider, proxy_kind, is_proxy)
IP_CASES = [
    ("ip_res", 64500, "Example ISP", "DE", "1.2.3.0/24", None, None, False),
    ("ip_tor", 64600, "Tor host", "NL", "9.9.9.0/24", None, "tor", True),
    ("ip_vpn", 64601, "VPN co", "SE", "8.8.1.0/24", None, "vpn", True),
    ("ip_cloud", 16509, "AMAZON-02", "US", "3.4.5.0/24", "amazon", "cloud", True),
    ("ip_dc", 64501, "Hosting", "FR", "5.6.7.0/24", None, "datacenter", True),
    ("ip_unknown", None, None, None, None, None, None, False),
    ("ip_none", None, None, None, None, None, None, False),
]


@pytest.fixture(scope="module")
def feats(tmp_path_factory):
    """One log holding every capability / CoT / fingerprint / IP case (ids are unique)."""
    rows = [r for _, r, _, _ in CAPABILITY_CASES] + [r for _, r, _ in COT_CASES] + FP_ROWS + IP_ROWS
    path = write_jsonl(tmp_path_factory.mktemp("reqsig") / "requests.jsonl", rows)
    df, ing = request_features(path, FAKE_INTEL)
    assert ing.quarantine == [], ing.quarantine
    assert len(df) == len(rows)
    return df


def _none(x):
    return None if x is None or (not isinstance(x, str) and pd.isna(x)) else x


@pytest.mark.parametrize("rid, row, capability, flags", CAPABILITY_CASES, ids=[c[0] for c in CAPABILITY_CASES])
def test_capability(feats, rid, row, capability, flags):
    got = feats.loc[rid]
    assert got["capability"] == capability
    for col, want in flags.items():
        assert bool(got[col]) is want, col


@pytest.mark.parametrize("rid, row, expected", COT_CASES, ids=[c[0] for c in COT_CASES])
def test_cot_elicitation(feats, rid, row, expected):
    assert bool(feats.loc[rid, "is_cot"]) is expected


def test_fixture_lengths_are_what_the_cases_claim():
    lengths = {rid: len(r["messages"][-1]["content"]) for rid, r, _, _ in CAPABILITY_CASES
               if rid in ("long_6000_chars", "not_long_5999_chars")}
    assert lengths == {"long_6000_chars": 6000, "not_long_5999_chars": 5999}
    assert len(FILLER) > 1500  # the CoT phrase in nocot_middle_of_long sits outside both 1,500-char ends


@pytest.mark.parametrize("rid, same", FP_CASES, ids=[c[0] for c in FP_CASES])
def test_client_fingerprint(feats, rid, same):
    base = feats.loc["fp_base", "client_fp"]
    assert isinstance(base, str) and base
    assert (feats.loc[rid, "client_fp"] == base) is same


@pytest.mark.parametrize("rid, same_system", [("fp_same", True), ("fp_temp", True), ("fp_ua", True),
                                              ("fp_system", False)])
def test_system_hash_follows_the_system_prompt_only(feats, rid, same_system):
    assert (feats.loc[rid, "system_hash"] == feats.loc["fp_base", "system_hash"]) is same_system


def test_system_hash_is_null_without_a_system_prompt(feats):
    assert _none(feats.loc["fp_nosys", "system_hash"]) is None
    assert isinstance(feats.loc["fp_base", "system_hash"], str)


@pytest.mark.parametrize("rid, asn, org, country, prefix, cloud, kind, is_proxy", IP_CASES,
                         ids=[c[0] for c in IP_CASES])
def test_ip_intel_columns(feats, rid, asn, org, country, prefix, cloud, kind, is_proxy):
    got = feats.loc[rid]
    assert _none(got["asn"]) == asn
    assert _none(got["as_org"]) == org
    assert _none(got["ip_country"]) == country
    assert _none(got["ip_prefix"]) == prefix
    assert _none(got["cloud_provider"]) == cloud
    assert _none(got["proxy_kind"]) == kind
    assert bool(got["is_proxy"]) is is_proxy


def test_add_ip_intel_looks_up_each_distinct_address_once(tmp_path):
    from distillwatch.engine import DuckDBEngine
    from distillwatch.features.request_features import add_ip_intel
    from distillwatch.ingest.requests import read_requests

    path = write_jsonl(tmp_path / "r.jsonl", IP_ROWS)
    intel = FakeIntel()
    eng = DuckDBEngine(threads=1)
    read_requests(eng, path)
    n = add_ip_intel(eng, intel)
    eng.close()
    # 1.2.3.4 twice, 9.9.9.9, 8.8.1.1, 3.4.5.6, 5.6.7.8, 10.0.0.1, and one row without an address
    assert n == 6
    assert len(intel.calls) == 1
    assert sorted(intel.calls[0]) == sorted(["1.2.3.4", "9.9.9.9", "8.8.1.1", "3.4.5.6", "5.6.7.8", "10.0.0.1"])


# (ip, asn, country, proxy_kind, cloud_provider) from the tiny directory in helpers.write_tiny_intel
REAL_INTEL_CASES = [
    ("1.2.3.4", 64500, "DE", None, None),
    ("2001:db8:1:2::5", 64502, None, None, None),
    ("9.9.9.9", None, None, "tor", None),
    ("8.8.1.1", None, None, "vpn", None),
    ("3.4.5.6", None, None, "cloud", "amazon"),
    ("5.6.7.8", 64501, None, "datacenter", None),
    ("10.0.0.1", None, None, None, None),
]


@pytest.fixture(scope="module")
def real_intel_feats(tmp_path_factory):
    from distillwatch.intel import load_intel

    d = tmp_path_factory.mktemp("realintel")
    intel = load_intel(write_tiny_intel(d / "ip"))
    rows = [req(f"r{i}", client_ip=ip) for i, (ip, *_rest) in enumerate(REAL_INTEL_CASES)]
    df, _ = request_features(write_jsonl(d / "r.jsonl", rows), intel)
    return df.set_index("client_ip")


@pytest.mark.parametrize("ip, asn, country, kind, cloud", REAL_INTEL_CASES, ids=[c[0] for c in REAL_INTEL_CASES])
def test_ip_intel_with_load_intel_on_a_tiny_directory(real_intel_feats, ip, asn, country, kind, cloud):
    got = real_intel_feats.loc[ip]
    assert _none(got["asn"]) == asn
    assert _none(got["ip_country"]) == country
    assert _none(got["proxy_kind"]) == kind
    assert _none(got["cloud_provider"]) == cloud
    assert bool(got["is_proxy"]) is (kind is not None)
    # /24 for IPv4, /48 for IPv6 (account.ip_churn docstring), in standard CIDR text
    plen = 24 if ":" not in ip else 48
    assert got["ip_prefix"] == str(ipaddress.ip_network(f"{ip}/{plen}", strict=False))


# ---------------------------------------------------------------------------------------------
# request.prompt_template
# ---------------------------------------------------------------------------------------------
QUESTIONS = [
    "What is the tallest mountain in the Alps?",
    "Why do cats purr when they are happy?",
    "Which river flows through the city of Vienna?",
    "Who painted the ceiling of the Sistine Chapel?",
    "How does a refrigerator keep food cold?",
    "When did the Berlin Wall come down?",
    "Where do emperor penguins lay their eggs?",
    "What makes sourdough bread rise so slowly?",
    "Which planet has the longest day in the solar system?",
    "How do bees decide where to build a hive?",
    "What language is spoken in the Faroe Islands?",
    "Why is the Dead Sea so salty compared to oceans?",
]
TEMPLATE_ID = re.compile(r"^t_[0-9a-f]{12}$")
_ADJ = ("amber", "brisk", "copper", "dusty", "eager", "frosty", "gentle", "hollow", "ivory", "jolly", "kindly",
        "lunar", "mossy", "nimble", "olive", "placid")
_NOUN = ("harbour", "lantern", "meadow", "orchard", "quarry", "saddle", "tavern", "violin", "walnut", "zephyr")


def unique_question(k: int) -> str:
    """The k-th of 160 distinct questions (no digits, so normalisation cannot merge them)."""
    return f"What is the story behind the {_ADJ[k % len(_ADJ)]} {_NOUN[k // len(_ADJ)]} in the old town?"


def _templates(tmp_path, rows):
    df, ing = request_features(write_jsonl(tmp_path / "t.jsonl", rows))
    assert ing.quarantine == []
    return df


def _tid(df, rid):
    return _none(df.loc[rid, "template_id"])


def test_shared_wrapper_gives_one_template_and_a_one_off_gets_none(tmp_path):
    rows = [req(f"w{i}", f"You are an expert tutor and must answer carefully. {q} "
                         "Provide the final answer at the end of your reply.", account=f"acct_{i}")
            for i, q in enumerate(QUESTIONS[:6])]
    rows.append(req("oneoff", "Hello there my old friend, how are you doing these days?"))
    df = _templates(tmp_path, rows)
    ids = {_tid(df, f"w{i}") for i in range(6)}
    assert len(ids) == 1
    (tid,) = ids
    assert tid is not None and TEMPLATE_ID.match(tid)
    assert _tid(df, "oneoff") is None
    # the skeleton holds the normalised wrapper, never the free-text slot
    sk = df.loc["w0", "skeleton"]
    assert "you are an expert tutor and must answer carefully" in sk
    assert "provide the final answer at the end of your reply" in sk
    assert "alps" not in sk.lower()


@pytest.mark.parametrize("n_requests, is_template", [(PromptTemplateSignal.min_requests, True),
                                                     (PromptTemplateSignal.min_requests - 1, False)])
def test_min_requests_threshold(tmp_path, n_requests, is_template):
    rows = [req(f"w{i}", f"Please answer the following question with care. {q}")
            for i, q in enumerate(QUESTIONS[:n_requests])]
    df = _templates(tmp_path, rows)
    ids = {_tid(df, f"w{i}") for i in range(n_requests)}
    if is_template:
        assert len(ids) == 1 and None not in ids
    else:
        assert ids == {None}


def test_normalisation_digits_case_whitespace(tmp_path):
    wrappers = ["This is item 17 of the current batch.", "THIS IS   item 203 of the current batch.",
                "this is item 5 of the CURRENT batch.", "This is Item 99 of the current   batch.",
                "This is item 1 of the current batch.", "this is item 42 of the current batch."]
    rows = [req(f"w{i}", f"{w} {q}") for i, (w, q) in enumerate(zip(wrappers, QUESTIONS))]
    df = _templates(tmp_path, rows)
    ids = {_tid(df, f"w{i}") for i in range(6)}
    assert len(ids) == 1 and None not in ids


@pytest.mark.parametrize("length, is_template", [(PromptTemplateSignal.min_sentence_chars, True),
                                                 (PromptTemplateSignal.min_sentence_chars - 1, False)])
def test_min_sentence_chars(tmp_path, length, is_template):
    sentence = ("answer me " * 5)[:length].strip()
    sentence = sentence + "x" * (length - len(sentence))
    assert len(sentence) == length
    rows = [req(f"w{i}", f"{sentence}. {q}") for i, q in enumerate(QUESTIONS[:6])]
    df = _templates(tmp_path, rows)
    ids = {_tid(df, f"w{i}") for i in range(6)}
    if is_template:
        assert len(ids) == 1 and None not in ids
    else:
        assert ids == {None}


def test_only_first_and_last_four_user_sentences_are_read(tmp_path):
    # 12 sentences: the shared one is the 6th, outside the first four and the last four
    rows = []
    for i in range(6):
        own = [f"Unique sentence number {chr(97 + k)} of request {chr(97 + i)} here" for k in range(11)]
        sents = own[:5] + ["This shared wrapper sentence sits in the middle"] + own[5:]
        rows.append(req(f"w{i}", ". ".join(sents) + "."))
    df = _templates(tmp_path, rows)
    assert {_tid(df, f"w{i}") for i in range(6)} == {None}


def _wrapper_rows(prefix, system_sentences, questions, n=6):
    """n requests whose system prompt is the wrapper and whose user message is the next unused question."""
    system = " ".join(s + "." for s in system_sentences)
    return [req(f"{prefix}{i}", unique_question(next(questions)), system=system, account=f"acct_{prefix}{i}")
            for i in range(n)]


SHARED = [f"Shared instruction number {w} for the harvesting harness" for w in
          ("one", "two", "three", "four", "five", "six", "seven")]


def test_near_duplicate_wrappers_merge_and_distinct_ones_do_not(tmp_path):
    # A and B share 7 of their 8 template sentences: Jaccard 7/9 = 0.78 >= 0.6 -> one template_id.
    # C shares 1 sentence with A: Jaccard 1/11 -> its own template_id.
    qs = iter(range(160))
    a = _wrapper_rows("a", SHARED + ["Variant sentence only wrapper alpha uses"], qs)
    b = _wrapper_rows("b", SHARED + ["Variant sentence only wrapper beta uses"], qs)
    c = _wrapper_rows("c", SHARED[:1] + ["Completely other wrapper first line here",
                                         "Completely other wrapper second line here",
                                         "Completely other wrapper third line here"], qs)
    df = _templates(tmp_path, a + b + c)
    ta = {_tid(df, f"a{i}") for i in range(6)}
    tb = {_tid(df, f"b{i}") for i in range(6)}
    tc = {_tid(df, f"c{i}") for i in range(6)}
    assert len(ta) == 1 and None not in ta
    assert ta == tb
    assert len(tc) == 1 and None not in tc
    assert tc != ta


def test_near_duplicate_pairs_well_above_the_threshold_merge(tmp_path):
    # 8 independent pairs; within a pair the wrappers share 5 of 6 sentences: Jaccard 5/7 = 0.71,
    # and 4 of 4 plus one extra: 4/5 = 0.8. The documented LSH banding (b = 20, r = 6) compares a
    # pair at 0.8 with probability 1 - (1 - 0.8**6)**20 = 0.998, so all 8 such pairs merge.
    assert abs((1 - (1 - 0.8 ** 6) ** 20) - 0.998) < 0.001
    rows, qs = [], iter(range(160))
    for p in range(8):
        shared = [f"Pair {chr(97 + p)} shared sentence {w} of the wrapper text"
                  for w in ("one", "two", "three", "four")]
        rows += _wrapper_rows(f"p{p}x", shared + [f"Pair {chr(97 + p)} variant x closing sentence here"], qs)
        rows += _wrapper_rows(f"p{p}y", shared, qs)
    df = _templates(tmp_path, rows)
    for p in range(8):
        tx = {_tid(df, f"p{p}x{i}") for i in range(6)}
        ty = {_tid(df, f"p{p}y{i}") for i in range(6)}
        assert len(tx) == 1 and None not in tx
        assert tx == ty, f"pair {p} (Jaccard 0.8) not merged"


def test_lsh_band_choice_matches_documented_probabilities():
    from distillwatch.features.sketches import NUM_PERM, _bands_for

    b = _bands_for(0.6, NUM_PERM)
    r = NUM_PERM // b
    assert (b, r) == (20, 6)
    # the probabilities stated in the docstrings, recomputed here from the S-curve formula
    assert round(1 - (1 - 0.6 ** r) ** b, 2) == 0.62
    assert round(1 - (1 - 0.7 ** r) ** b, 2) == 0.92


def test_wrappers_below_the_jaccard_threshold_are_not_merged(tmp_path):
    # 8 independent pairs sharing 2 of 3 sentences each: Jaccard 2/4 = 0.5 < 0.6 -> never one template
    rows, qs = [], iter(range(160))
    for p in range(8):
        shared = [f"Pair {chr(97 + p)} shared sentence {w} of the wrapper text" for w in ("one", "two")]
        rows += _wrapper_rows(f"p{p}x", shared + [f"Pair {chr(97 + p)} variant x closing sentence here"], qs)
        rows += _wrapper_rows(f"p{p}y", shared + [f"Pair {chr(97 + p)} variant y closing sentence here"], qs)
    df = _templates(tmp_path, rows)
    for p in range(8):
        tx = {_tid(df, f"p{p}x{i}") for i in range(6)}
        ty = {_tid(df, f"p{p}y{i}") for i in range(6)}
        assert len(tx) == 1 and len(ty) == 1 and None not in tx | ty
        assert tx != ty, f"pair {p} (Jaccard 0.5) merged"
