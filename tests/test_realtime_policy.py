"""Access policy: validation errors name the rule index and field; evaluation, table-driven."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from distillwatch.cli import app
from distillwatch.realtime.policy import Policy, PolicyError, Rule, Subject, evaluate, load_policy

REPO = Path(__file__).resolve().parents[1]

POLICY = Policy(rules=[
    Rule(name="suspend-x-y-entities", models=["x", "y"], entities=["org-bad", "bad.example"], action="block"),
    Rule(name="suspend-x-y-countries", models=["x", "y"], countries=["AA", "BB"], action="block"),
    Rule(name="x-ip-only", models=["x"], countries=["CC"], country_source="ip", action="flag"),
    Rule(name="z-needs-startup", models=["z"], action="require_verification", min_verification="startup"),
    Rule(name="flag-unverified-y", models=["y"], verification=["none"], action="flag"),
])

CASES = [
    # (subject, expected decision, expected reasons)
    (Subject("a1", "w"), "allow", []),
    (Subject("a1", "x", org_ids=("org-bad",)), "block", ["policy.block:suspend-x-y-entities"]),
    (Subject("a1", "w", org_ids=("org-bad",)), "allow", []),                          # other model
    (Subject("org-bad", "x"), "block", ["policy.block:suspend-x-y-entities"]),          # entity = account id
    (Subject("a1", "x", email_domain="bad.example"), "block", ["policy.block:suspend-x-y-entities"]),
    (Subject("a1", "x", billing_country="AA"), "block", ["policy.block:suspend-x-y-countries"]),
    (Subject("a1", "x", ip_country="BB"), "block", ["policy.block:suspend-x-y-countries"]),
    (Subject("a1", "x", billing_country="CC"), "allow", []),                           # x-ip-only ignores billing
    (Subject("a1", "x", ip_country="CC"), "flag", ["policy.flag:x-ip-only"]),
    (Subject("a1", "z", verification="none"), "block", ["policy.require_verification:z-needs-startup"]),
    (Subject("a1", "z", verification="edu"), "block", ["policy.require_verification:z-needs-startup"]),
    (Subject("a1", "z", verification="startup"), "allow", []),
    (Subject("a1", "z", verification="verified_org"), "allow", []),
    (Subject("a1", "y", verification="email"), "allow", []),
    (Subject("a1", "y", verification="none", billing_country="AA"), "block",
     ["policy.block:suspend-x-y-countries", "policy.flag:flag-unverified-y"]),
]


@pytest.mark.parametrize("subject, decision, reasons", CASES)
def test_policy_evaluation(subject, decision, reasons):
    assert evaluate(POLICY, subject) == (decision, reasons)


def test_example_policy_is_valid_and_checked_by_the_cli():
    pol = load_policy(REPO / "examples" / "policy.yaml")
    assert [r.action for r in pol.rules] == ["block", "block", "require_verification", "flag"]
    r = CliRunner().invoke(app, ["policy", "check", str(REPO / "examples" / "policy.yaml")])
    assert r.exit_code == 0 and "4 rule(s)" in r.output


@pytest.mark.parametrize("yaml_text, problem", [
    ("rules:\n  - name: a\n    action: ban\n", "rules[0].action"),
    ("rules:\n  - name: a\n    action: block\n  - name: b\n    action: block\n    countries: [de]\n",
     "rules[1].countries"),
    ("rules:\n  - name: a\n    action: require_verification\n", "rules[0]: Value error, action require_verification needs"),
    ("rules:\n  - name: a\n    action: block\n    modles: [x]\n", "rules[0].modles: Extra inputs are not permitted"),
    ("rules:\n  - name: a\n    action: block\n    verification: [gold]\n", "rules[0].verification"),
    ("rules:\n  - name: a\n    action: block\n    models: []\n", "rules[0].models"),
    ("rules:\n  - name: a\n    action: block\n  - name: a\n    action: flag\n", "duplicate rule name 'a'"),
    ("rules: [\n", "line "),
    ("version: 2\nrules: []\n", "version"),
])
def test_invalid_policies_name_rule_index_and_field(tmp_path, yaml_text, problem):
    p = tmp_path / "bad.yaml"
    p.write_text(yaml_text)
    with pytest.raises(PolicyError) as ei:
        load_policy(p)
    assert problem in str(ei.value)
    r = CliRunner().invoke(app, ["policy", "check", str(p)])
    assert r.exit_code == 2 and problem.split(":")[0] in r.output.replace("\n", " ")
