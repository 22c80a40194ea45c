"""Tests for distillwatch.intel (IP intelligence).

Expected values are established independently of the code under test: lines are read
straight from the shared gzip CSV / text files with ``gzip`` + ``csv`` + ``ipaddress``,
or written into small synthetic directories. Tests that need the shared data locate it
with the library's default search and skip when it is absent.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import ipaddress
import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from distillwatch.intel import (
    COMPUTE_PROVIDERS,
    ENV_VAR,
    FALLBACK_RANGES,
    LOOKUP_SCHEMA,
    IntelDB,
    IntelError,
    clear_intel_cache,
    fallback_intel,
    load_intel,
    resolve_intel_dir,
)
from distillwatch.intel import db as intel_db
from distillwatch.intel.segments import build_segments

# ---------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def shared_dir() -> Path:
    d = resolve_intel_dir(None)
    if d is None or not (d / "ip-location-db").is_dir():
        pytest.skip("shared IP data (../shared/data/ip) not available")
    return d


@pytest.fixture(scope="module")
def intel(shared_dir) -> IntelDB:
    return load_intel(shared_dir)


@pytest.fixture()
def no_default_dir(monkeypatch, tmp_path):
    """Make the default search find nothing (no env var, no ../shared, no repo root)."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    monkeypatch.setattr(intel_db, "_repo_root", lambda: None)
    clear_intel_cache()
    yield
    clear_intel_cache()


def _csv_rows(path: Path, indices: list[int]) -> dict[int, list[str]]:
    """Rows at the given 0-based line indices of a gzip CSV (plus their neighbours)."""
    want = set()
    for i in indices:
        want.update((i - 1, i, i + 1))
    out = {}
    with gzip.open(path, "rt", newline="") as fh:
        for i, row in enumerate(itertools.islice(csv.reader(fh), max(want) + 1)):
            if i in want:
                out[i] = row
    return out


def _isolated(rows: dict[int, list[str]], i: int) -> bool:
    """Line ``i`` does not overlap its neighbours (so it alone decides the answer)."""
    s, e = (int(ipaddress.ip_address(x)) for x in rows[i][:2])
    prev = rows.get(i - 1)
    nxt = rows.get(i + 1)
    ok = prev is None or int(ipaddress.ip_address(prev[1])) < s
    return ok and (nxt is None or int(ipaddress.ip_address(nxt[0])) > e)


def _probe_points(start: str, end: str) -> list[str]:
    s, e = int(ipaddress.ip_address(start)), int(ipaddress.ip_address(end))
    mk = ipaddress.ip_address(start).__class__
    return [str(mk(s)), str(mk((s + e) // 2)), str(mk(e))]


# ---------------------------------------------------------------------- segments


def test_segments_nested_and_overlapping_ranges_pick_narrowest():
    # [0,100] contains [10,20] which contains [15,15]; [50,150] overlaps [0,100].
    starts = (np.array([0, 10, 15, 50], dtype=np.uint64),)
    ends = (np.array([100, 20, 15, 150], dtype=np.uint64),)
    idx = build_segments(starts, ends)
    q = np.array([0, 9, 10, 14, 15, 16, 20, 21, 49, 50, 100, 101, 150, 151], dtype=np.uint64)
    got = idx.lookup((q,)).tolist()
    # 50..100 is covered by rows 0 (width 100) and 3 (width 100): tie -> earlier row 0.
    assert got == [0, 0, 1, 1, 2, 1, 1, 0, 0, 0, 0, 3, 3, -1]
    assert build_segments(starts, ends, boolean=True).covered((q,)).tolist() == [g >= 0 for g in got]


def test_segments_two_word_keys_with_carry_and_top_of_space():
    top = np.uint64(0xFFFFFFFFFFFFFFFF)
    starts = (np.array([0, 0, top], dtype=np.uint64), np.array([top - np.uint64(1), top, 0], dtype=np.uint64))
    ends = (np.array([1, 0, top], dtype=np.uint64), np.array([5, top, top], dtype=np.uint64))
    idx = build_segments(starts, ends)
    qhi = np.array([0, 0, 1, 1, 2, top, top], dtype=np.uint64)
    qlo = np.array([top - np.uint64(2), top, 0, 6, 0, 0, top], dtype=np.uint64)
    assert idx.lookup((qhi, qlo)).tolist() == [-1, 1, 0, -1, -1, 2, 2]


# ---------------------------------------------------------------------- real data


def test_versions_record_files_hashes_rows_and_mtimes(intel, shared_dir):
    rel = "ip-location-db/asn/asn-ipv4.csv.gz"
    assert intel.source == str(shared_dir)
    rec = intel.versions[rel]
    path = shared_dir / rel
    assert rec["path"] == rel
    assert rec["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    with gzip.open(path, "rt") as fh:
        n_lines = sum(1 for line in fh if line.strip())
    assert rec["rows"] == n_lines
    assert rec["mtime"].endswith("Z") and rec["mtime"][:4].isdigit()
    assert not any(k.startswith("ipcat") for k in intel.versions)  # GPL data never read
    for rel in (
        "ip-location-db/dbip-country/dbip-country-ipv6.csv.gz",
        "tor/tor-exit-nodes.lst",
        "bad_asn/bad-asn-list.csv",
        "ipranges_cc0/amazon/ipv4_merged.txt",
    ):
        assert rel in intel.versions
    assert any("DB-IP" in line for line in intel.attributions)


def test_load_is_cached_per_directory(intel, shared_dir):
    assert load_intel(shared_dir) is intel
    assert load_intel(str(shared_dir) + "/") is intel


@pytest.mark.parametrize("family, indices", [(4, [0, 777, 5320, 60_000, 123_456]), (6, [0, 4_321, 50_000])])
def test_asn_lookup_matches_csv_lines(intel, shared_dir, family, indices):
    rows = _csv_rows(shared_dir / f"ip-location-db/asn/asn-ipv{family}.csv.gz", indices)
    checked = 0
    for i in indices:
        if not _isolated(rows, i):
            continue
        start, end, asn, org = rows[i]
        pts = _probe_points(start, end)
        t = intel.lookup(pts).to_pydict()
        assert t["asn"] == [int(asn)] * 3, (i, rows[i])
        assert t["as_org"] == [org] * 3
        assert t["ip_version"] == [family] * 3
        checked += 1
    assert checked >= 2


@pytest.mark.parametrize("family, indices", [(4, [1, 1_000, 200_000]), (6, [2, 99_999, 300_000])])
def test_country_lookup_matches_dbip_lines(intel, shared_dir, family, indices):
    rows = _csv_rows(shared_dir / f"ip-location-db/dbip-country/dbip-country-ipv{family}.csv.gz", indices)
    for i in indices:
        start, end, cc = rows[i]
        t = intel.lookup(_probe_points(start, end)).to_pydict()
        assert t["country"] == [cc] * 3, (i, rows[i])


def test_known_public_facts(intel, shared_dir):
    # Verified against the shared files: asn-ipv4 has "8.8.8.0,8.8.8.255,15169,Google LLC",
    # ipranges_cc0/google lists 8.8.8.0/24, asn-ipv6 maps 2001:4860:: to AS15169.
    with gzip.open(shared_dir / "ip-location-db/asn/asn-ipv4.csv.gz", "rt") as fh:
        assert "8.8.8.0,8.8.8.255,15169,Google LLC\n" in itertools.islice(fh, 10_000)
    rec = intel.lookup_one("8.8.8.8")
    assert rec["asn"] == 15169 and rec["as_org"] == "Google LLC"
    assert rec["cloud_provider"] == "google" and rec["is_datacenter"] and rec["proxy_kind"] == "cloud"
    assert rec["prefix"] == "8.8.8.0/24" and rec["ip_version"] == 4
    assert intel.lookup_one("1.1.1.1")["asn"] == 13335
    assert intel.lookup_one("2001:4860:4860::8888")["asn"] == 15169
    assert intel.lookup_one("2001:4860:4860::8888")["prefix"] == "2001:4860:4860::/48"


def test_ipv4_mapped_ipv6_is_treated_as_ipv4(intel):
    a, b = intel.lookup(["8.8.4.4", "::ffff:8.8.4.4"]).to_pylist()
    assert b["ip"] == "::ffff:8.8.4.4" and b["ip_version"] == 4
    assert {k: v for k, v in a.items() if k != "ip"} == {k: v for k, v in b.items() if k != "ip"}


def test_tor_exits_from_the_list_are_tor(intel, shared_dir):
    lines = [x.strip() for x in (shared_dir / "tor/tor-exit-nodes.lst").read_text().splitlines() if x.strip()]
    v4 = [x for x in lines if ":" not in x][:5] + [x for x in lines if ":" not in x][-3:]
    v6 = [x for x in lines if ":" in x][:3]  # written fully expanded in the file
    t = intel.lookup(v4 + v6).to_pydict()
    assert all(t["is_valid"]) and all(t["is_tor"])
    assert t["proxy_kind"] == ["tor"] * len(v4 + v6)
    assert t["ip_version"] == [4] * len(v4) + [6] * len(v6)


def _provider_networks(shared_dir: Path) -> dict[str, list]:
    out = {}
    for d in sorted((shared_dir / "ipranges_cc0").iterdir()):
        if d.is_dir():
            nets = []
            for f in ("ipv4_merged.txt", "ipv6_merged.txt"):
                p = d / f
                if p.is_file():
                    nets += [ipaddress.ip_network(x.strip(), strict=False) for x in p.read_text().splitlines() if x.strip()]
            out[d.name] = nets
    return out


def test_cloud_provider_first_addresses(intel, shared_dir):
    nets = _provider_networks(shared_dir)
    checked = 0
    for provider, plist in nets.items():
        for net in (plist[0], plist[-1]):
            addr = net.network_address
            # Independent expectation: the narrowest listed network containing addr;
            # ties go to service-specific lists over general compute clouds.
            hits = [(n.prefixlen, p) for p, ns in nets.items() for n in ns if n.version == addr.version and addr in n]
            best = max(h[0] for h in hits)
            names = {p for plen, p in hits if plen == best}
            special = {p for p in names if p not in COMPUTE_PROVIDERS}
            names = special or names
            if len(names) != 1:
                continue
            rec = intel.lookup_one(str(addr))
            assert rec["cloud_provider"] == names.pop(), (provider, str(net))
            assert rec["is_datacenter"]
            checked += 1
    assert checked >= 10
    first_amazon = nets["amazon"][0]
    assert intel.lookup_one(str(first_amazon.network_address))["cloud_provider"] == "amazon"


def test_nested_provider_range_wins_inside_and_outer_outside(intel, shared_dir):
    openai = [n for n in _provider_networks(shared_dir)["openai"] if n.version == 4]
    ms = [ipaddress.ip_network(x.strip()) for x in (shared_dir / "ipranges_cc0/microsoft/ipv4_merged.txt").read_text().split()]
    pairs = [(o, m) for o in openai for m in ms if o.subnet_of(m) and o != m]
    assert pairs, "expected an OpenAI range nested in a Microsoft one"
    inner, outer = pairs[0]
    below = inner.network_address - 1
    assert below in outer
    t = intel.lookup([str(inner.network_address), str(below)]).to_pydict()
    assert t["cloud_provider"][0] == "openai"
    assert t["cloud_provider"][1] in {"microsoft", "github", "bing", "openai"}  # narrowest around `below`


def test_x4b_lists_flag_datacenter_and_vpn(intel, shared_dir):
    vpn_lines = (shared_dir / "x4bnet_lists_vpn/output_vpn_ipv4.txt").read_text().split()
    with gzip.open(shared_dir / "x4bnet_lists_vpn/output_datacenter_ipv4.txt.gz", "rt") as fh:
        dc_lines = fh.read().split()
    vpn_pts = [str(ipaddress.ip_network(x).network_address) for x in vpn_lines[:: max(1, len(vpn_lines) // 25)]]
    dc_pts = [str(ipaddress.ip_network(x)[-1]) for x in dc_lines[:: max(1, len(dc_lines) // 25)]]
    t = intel.lookup(vpn_pts + dc_pts).to_pydict()
    assert all(t["is_vpn"][: len(vpn_pts)])
    assert all(t["is_datacenter"][len(vpn_pts) :])
    for kind, tor, vpn in zip(t["proxy_kind"], t["is_tor"], t["is_vpn"]):
        assert kind in {"tor", "vpn", "cloud", "datacenter"}
        assert (kind == "tor") == tor and (kind == "vpn") == (vpn and not tor)


def test_hosting_asn_flag_follows_bad_asn_list(intel, shared_dir):
    lines = (shared_dir / "bad_asn/bad-asn-list.csv").read_text().splitlines()[1:]
    listed = {int(line.split(",")[0].strip().strip('"')) for line in lines if line.strip()}
    sample = intel.lookup(intel.sample_ips("datacenter", 200, np.random.default_rng(5))).to_pydict()
    for asn, hosting in zip(sample["asn"], sample["is_hosting_asn"]):
        assert hosting == (asn is not None and asn in listed)
    assert intel.lookup_one("8.8.8.8")["is_hosting_asn"] == (15169 in listed)


# ---------------------------------------------------------------------- parsing / schema

INVALID = [None, "", " ", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", "1.2.3.4:80",
           "[2001:db8::1]", "2001:db8::g", "1:2:3:4:5:6:7:8:9", "localhost", "::ffff:01.2.3.4"]


@pytest.mark.parametrize("value", INVALID)
def test_invalid_inputs(value):
    rec = fallback_intel().lookup([value]).to_pylist()[0]
    assert rec["is_valid"] is False
    assert rec["ip"] == value
    assert rec["ip_version"] is None and rec["prefix"] is None and rec["asn"] is None
    assert rec["proxy_kind"] is None and rec["is_tor"] is False and rec["is_datacenter"] is False


@pytest.mark.parametrize(
    "value, version, prefix",
    [
        ("0.0.0.0", 4, "0.0.0.0/24"),
        ("255.255.255.255", 4, "255.255.255.0/24"),
        ("203.0.113.77", 4, "203.0.113.0/24"),
        ("::ffff:203.0.113.77", 4, "203.0.113.0/24"),
        ("::ffff:cb00:714d", 4, "203.0.113.0/24"),
        ("2001:db8:1:2::1", 6, "2001:db8:1::/48"),
        ("2001:0DB8:0000:0001::", 6, "2001:db8::/48"),
        ("::1", 6, "::/48"),
        ("fe80::1%eth0", 6, "fe80::/48"),
        ("2001:470:1:908::9001", 6, "2001:470:1::/48"),
    ],
)
def test_valid_inputs_version_and_prefix(value, version, prefix):
    rec = fallback_intel().lookup_one(value)
    assert rec["is_valid"] is True and rec["ip_version"] == version and rec["prefix"] == prefix


def test_lookup_schema_order_and_input_types():
    db = fallback_intel()
    ips = ["73.1.2.3", None, "2601::5", "x", "73.1.2.3"]
    t = db.lookup(ips)
    assert t.schema == LOOKUP_SCHEMA
    assert t.num_rows == 5 and t.column("ip").to_pylist() == ips
    assert t.column("asn").to_pylist() == [7922, None, 7922, None, 7922]
    for variant in (
        pa.array(ips),
        pa.chunked_array([ips[:2], ips[2:]]),
        pa.array(ips).dictionary_encode(),
        np.array(ips, dtype=object),
        tuple(ips),
    ):
        assert db.lookup(variant).equals(t)
    pd = pytest.importorskip("pandas")
    s = pd.Series(["73.1.2.3", float("nan"), "2601::5"])
    assert db.lookup(s).column("is_valid").to_pylist() == [True, False, True]
    assert db.lookup([]).num_rows == 0 and db.lookup([]).schema == LOOKUP_SCHEMA
    assert db.lookup("73.1.2.3").num_rows == 1


# ---------------------------------------------------------------------- synthetic directories


def _write(path: Path, text: str, gz: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)


@pytest.fixture()
def synthetic_dir(tmp_path) -> Path:
    d = tmp_path / "intel"
    _write(
        d / "ip-location-db/asn/asn-ipv4.csv",  # plain file where .gz is expected: accepted
        "ip_start,ip_end,asn,org\n"  # header line: skipped
        "10.0.0.0,10.255.255.255,64500,Big Telecom\n"
        "10.1.0.0,10.1.255.255,64501,\"Small Hosting, Inc.\"\n"
        "10.1.2.0,10.1.2.255,64502,Tiny Wireless\n",
    )
    _write(
        d / "ip-location-db/asn/asn-ipv6.csv.gz",
        "2001:db8::,2001:db8:ffff:ffff:ffff:ffff:ffff:ffff,64510,Six Big\n"
        "2001:db8:1::,2001:db8:1:ffff:ffff:ffff:ffff:ffff,64511,Six Small\n",
        gz=True,
    )
    _write(d / "ip-location-db/dbip-country/dbip-country-ipv4.csv.gz",
           "10.0.0.0,10.127.255.255,NA\n10.128.0.0,10.255.255.255,de\n", gz=True)
    _write(d / "ipranges_cc0/bigcloud/ipv4_merged.txt", "10.0.0.0/8\n10.9.0.0/16\n")
    _write(d / "ipranges_cc0/smallcdn/ipv4_merged.txt", "# comment\n10.9.8.0/24\n\n10.9.8.0/24\n")
    _write(d / "ipranges_cc0/smallcdn/ipv6_merged.txt", "2001:db8:1:2::/64\n")
    _write(d / "x4bnet_lists_vpn/output_vpn_ipv4.txt", "10.20.0.0/16\n10.20.30.0/24\n10.20.30.128/25\n10.21.0.1\n")
    _write(d / "tor/tor-exit-nodes.lst", "10.30.0.1\n2001:0db8:0000:0000:0000:0000:0000:0099\n")
    _write(d / "bad_asn/bad-asn-list.csv", 'ASN,Entity\n64501,"Small Hosting, US"\n"64502"\n')
    return d


@pytest.mark.parametrize(
    "ip, asn, org, country, provider, vpn, tor, kind",
    [
        ("10.0.0.1", 64500, "Big Telecom", "NA", "bigcloud", False, False, "cloud"),
        ("10.1.0.0", 64501, "Small Hosting, Inc.", "NA", "bigcloud", False, False, "cloud"),
        ("10.1.2.3", 64502, "Tiny Wireless", "NA", "bigcloud", False, False, "cloud"),
        ("10.1.3.0", 64501, "Small Hosting, Inc.", "NA", "bigcloud", False, False, "cloud"),
        ("10.2.0.0", 64500, "Big Telecom", "NA", "bigcloud", False, False, "cloud"),
        ("10.9.8.7", 64500, "Big Telecom", "NA", "smallcdn", False, False, "cloud"),
        ("10.9.9.1", 64500, "Big Telecom", "NA", "bigcloud", False, False, "cloud"),
        ("10.20.30.200", 64500, "Big Telecom", "NA", "bigcloud", True, False, "vpn"),
        ("10.20.31.1", 64500, "Big Telecom", "NA", "bigcloud", True, False, "vpn"),
        ("10.21.0.1", 64500, "Big Telecom", "NA", "bigcloud", True, False, "vpn"),
        ("10.21.0.2", 64500, "Big Telecom", "NA", "bigcloud", False, False, "cloud"),
        ("10.30.0.1", 64500, "Big Telecom", "NA", "bigcloud", False, True, "tor"),
        ("10.200.0.1", 64500, "Big Telecom", "DE", "bigcloud", False, False, "cloud"),
        ("11.0.0.1", None, None, None, None, False, False, None),
        ("2001:db8::5", 64510, "Six Big", None, None, False, False, None),
        ("2001:db8:1:2::5", 64511, "Six Small", None, "smallcdn", False, False, "cloud"),
        ("2001:db8:1:3::5", 64511, "Six Small", None, None, False, False, None),
        ("2001:db8::99", 64510, "Six Big", None, None, False, True, "tor"),
    ],
)
def test_synthetic_directory_nested_ranges(synthetic_dir, ip, asn, org, country, provider, vpn, tor, kind):
    db = load_intel(synthetic_dir)
    rec = db.lookup_one(ip)
    assert (rec["asn"], rec["as_org"], rec["country"], rec["cloud_provider"]) == (asn, org, country, provider)
    assert (rec["is_vpn"], rec["is_tor"], rec["proxy_kind"]) == (vpn, tor, kind)
    assert rec["is_hosting_asn"] == (asn in (64501, 64502))
    assert rec["is_datacenter"] == (provider is not None or asn in (64501, 64502))


def test_synthetic_directory_versions_skip_missing_sources(synthetic_dir):
    db = load_intel(synthetic_dir)
    assert db.source == str(synthetic_dir.resolve())
    assert set(db.versions) == {
        "ip-location-db/asn/asn-ipv4.csv",
        "ip-location-db/asn/asn-ipv6.csv.gz",
        "ip-location-db/dbip-country/dbip-country-ipv4.csv.gz",
        "ipranges_cc0/bigcloud/ipv4_merged.txt",
        "ipranges_cc0/smallcdn/ipv4_merged.txt",
        "ipranges_cc0/smallcdn/ipv6_merged.txt",
        "x4bnet_lists_vpn/output_vpn_ipv4.txt",
        "tor/tor-exit-nodes.lst",
        "bad_asn/bad-asn-list.csv",
    }
    assert db.versions["ip-location-db/asn/asn-ipv4.csv"]["rows"] == 3  # header not counted
    assert db.versions["ipranges_cc0/smallcdn/ipv4_merged.txt"]["rows"] == 2
    assert db.versions["bad_asn/bad-asn-list.csv"]["rows"] == 2
    assert db.providers == ("bigcloud", "smallcdn")
    with pytest.raises(IntelError, match="cannot sample 'datacenter'"):
        db.sample_ips("datacenter", 1, np.random.default_rng(0))
    with pytest.raises(IntelError, match="cannot sample 'cloud:smallcdn'"):  # private space is never sampled
        db.sample_ips("cloud:smallcdn", 1, np.random.default_rng(0))


def test_env_var_selects_directory(monkeypatch, synthetic_dir):
    monkeypatch.setenv(ENV_VAR, str(synthetic_dir))
    assert load_intel().source == str(synthetic_dir.resolve())
    monkeypatch.setenv(ENV_VAR, str(synthetic_dir / "nope"))
    with pytest.raises(IntelError, match="nope"):
        load_intel()


def test_missing_directory_raises(tmp_path):
    missing = tmp_path / "does-not-exist"
    with pytest.raises(IntelError, match="does-not-exist") as exc:
        load_intel(missing)
    assert isinstance(exc.value, ValueError)


def test_directory_without_expected_files_raises(tmp_path):
    (tmp_path / "empty" / "unrelated").mkdir(parents=True)
    (tmp_path / "empty" / "README.md").write_text("nothing here\n")
    with pytest.raises(IntelError) as exc:
        load_intel(tmp_path / "empty")
    msg = str(exc.value)
    assert str((tmp_path / "empty").resolve()) in msg
    assert "asn-ipv4.csv.gz" in msg and "tor-exit-nodes.lst" in msg


# ---------------------------------------------------------------------- fallback


def test_fallback_when_no_directory(no_default_dir):
    db = load_intel()
    assert db.source == "none" and db.is_empty and db.versions == {}
    assert len(FALLBACK_RANGES) < 60
    rec = db.lookup_one("73.12.34.56")
    assert (rec["asn"], rec["country"], rec["proxy_kind"]) == (7922, "US", None)
    assert db.lookup_one("3.80.1.1")["cloud_provider"] == "amazon"
    rec = db.lookup_one("8.8.8.8")  # not in the small table: valid, but no enrichment
    assert rec["is_valid"] and rec["asn"] is None and rec["country"] is None and rec["proxy_kind"] is None
    rng = np.random.default_rng(3)
    expect = {"residential": None, "mobile": None, "datacenter": "datacenter", "cloud": "cloud",
              "cloud:google": "cloud", "vpn": "vpn", "tor": "tor"}
    for kind, proxy in expect.items():
        ips = db.sample_ips(kind, 30, rng)
        t = db.lookup(ips).to_pydict()
        assert all(t["is_valid"]) and t["proxy_kind"] == [proxy] * 30, kind
    assert "US" in db.countries_with_residential() and "DE" in db.countries_with_residential()
    assert set(db.lookup(db.sample_ips("residential", 20, rng, country="JP")).column("country").to_pylist()) == {"JP"}


@pytest.mark.parametrize("entry", FALLBACK_RANGES, ids=lambda e: e.cidr)
def test_fallback_entries_agree_with_full_data(intel, entry):
    net = ipaddress.ip_network(entry.cidr)
    pts = [str(net.network_address), str(net.broadcast_address)]
    expect_kind = {"residential": None, "mobile": None}.get(entry.kind, entry.kind)
    for rec in intel.lookup(pts).to_pylist():
        assert rec["asn"] == entry.asn and rec["as_org"] == entry.org
        assert rec["country"] == entry.country
        assert rec["proxy_kind"] == expect_kind
        if entry.kind == "cloud":
            assert rec["cloud_provider"] == entry.provider
    from distillwatch.intel.fallback import FALLBACK_HOSTING_ASNS

    assert (entry.asn in intel.hosting_asns) == (entry.asn in FALLBACK_HOSTING_ASNS)


# ---------------------------------------------------------------------- sampling (real data)


def test_sample_ips_is_deterministic(intel):
    a = intel.sample_ips("residential", 50, np.random.default_rng(42))
    b = intel.sample_ips("residential", 50, np.random.default_rng(42))
    c = intel.sample_ips("residential", 50, np.random.default_rng(43))
    assert a == b and a != c and len(a) == 50
    assert intel.sample_ips("tor", 0, np.random.default_rng(0)) == []


def test_sampled_residential_and_mobile_look_clean(intel):
    rng = np.random.default_rng(11)
    for kind in ("residential", "mobile"):
        t = intel.lookup(intel.sample_ips(kind, 400, rng)).to_pydict()
        assert all(t["is_valid"])
        assert not any(t["is_datacenter"]) and not any(t["is_vpn"]) and not any(t["is_tor"])
        assert not any(t["is_hosting_asn"]) and t["proxy_kind"] == [None] * 400
        assert None not in t["asn"]
    mobile = intel.lookup(intel.sample_ips("mobile", 200, rng)).column("as_org").to_pylist()
    words = ("mobil", "wireless", "cellular", "cellco", "celular", "movil", "móvil", "lte", "gsm")
    assert all(any(w in org.lower() for w in words) for org in mobile)


def test_sample_country_restriction(intel):
    countries = intel.countries_with_residential()
    assert len(countries) > 100 and {"US", "DE", "CN", "BR"} <= set(countries)
    for cc in ("DE", "BR"):
        t = intel.lookup(intel.sample_ips("residential", 100, np.random.default_rng(1), country=cc)).to_pydict()
        assert set(t["country"]) == {cc}
    t = intel.lookup(intel.sample_ips("cloud", 50, np.random.default_rng(1), country="de")).to_pydict()
    assert set(t["country"]) == {"DE"} and set(t["proxy_kind"]) == {"cloud"}


@pytest.mark.parametrize(
    "kind, column, value",
    [
        ("datacenter", "proxy_kind", "datacenter"),
        ("cloud", "proxy_kind", "cloud"),
        ("cloud:amazon", "cloud_provider", "amazon"),
        ("cloud:apple-proxy", "cloud_provider", "apple-proxy"),
        ("vpn", "proxy_kind", "vpn"),
        ("tor", "is_tor", True),
    ],
)
def test_sample_kinds_look_up_as_their_kind(intel, kind, column, value):
    t = intel.lookup(intel.sample_ips(kind, 200, np.random.default_rng(7))).to_pydict()
    assert t[column] == [value] * 200
    if kind == "cloud":
        assert set(t["cloud_provider"]) <= set(COMPUTE_PROVIDERS)


def test_sampled_tor_addresses_are_on_the_exit_list(intel, shared_dir):
    lines = {str(ipaddress.ip_address(x.strip())) for x in (shared_dir / "tor/tor-exit-nodes.lst").read_text().split()}
    assert set(intel.sample_ips("tor", 100, np.random.default_rng(0))) <= lines


@pytest.mark.parametrize("kind, country", [("teleport", None), ("cloud:nowhere", None), ("residential", "ZZ"), ("vpn", "Germany")])
def test_sample_errors(intel, kind, country):
    with pytest.raises(IntelError):
        intel.sample_ips(kind, 3, np.random.default_rng(0), country=country)


def test_sample_argument_errors(intel):
    with pytest.raises(ValueError):
        intel.sample_ips("tor", -1, np.random.default_rng(0))
    with pytest.raises(TypeError):
        intel.sample_ips("tor", 1, 42)


def test_same_prefix_ips():
    db = fallback_intel()
    a = db.same_prefix_ips("198.51.100.77", 40, np.random.default_rng(9))
    assert a == db.same_prefix_ips("198.51.100.0/24", 40, np.random.default_rng(9))
    assert len(set(a)) == 40
    t = db.lookup(a).to_pydict()
    assert set(t["prefix"]) == {"198.51.100.0/24"}
    assert all(1 <= int(ip.rsplit(".", 1)[1]) <= 254 for ip in a)
    assert len(db.same_prefix_ips("198.51.100.77", 600, np.random.default_rng(9))) == 600
    v6 = db.same_prefix_ips("2001:db8:abcd:12::1", 5, np.random.default_rng(1))
    assert set(db.lookup(v6).column("prefix").to_pylist()) == {"2001:db8:abcd::/48"}
    assert set(db.lookup(db.same_prefix_ips("::ffff:10.1.2.3", 3, np.random.default_rng(1))).column("prefix").to_pylist()) == {"10.1.2.0/24"}
    with pytest.raises(IntelError):
        db.same_prefix_ips("not-an-ip", 3, np.random.default_rng(0))
