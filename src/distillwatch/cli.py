"""Command line: ``distillwatch scan | simulate | evaluate | demo | signals`` (Typer + Rich).

Exit codes: 0 success, 1 a command ran but found a problem it must report (``evaluate`` floors
not met), 2 usage or input error (message names the file, line and field where one applies).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from contextlib import contextmanager
from typing import Iterator, Optional

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="distillwatch: find, link and explain distillation campaigns in LLM API request logs.")
console = Console(stderr=True)
out_console = Console(soft_wrap=True)  # no hard line breaks when piped (paths, figures stay on one line)


def _fail(msg: str) -> None:
    console.print(f"[bold red]error:[/] {msg}", soft_wrap=True)
    raise typer.Exit(2)


@contextmanager
def _progress() -> Iterator[Progress]:
    """A Rich progress display on stderr, drawn only when stderr is a terminal.

    Elsewhere (a log file, a pipe, CI) the same object takes updates but prints nothing: Rich's
    display and its ``stop()`` write bare newlines into a redirected stream, which left empty lines
    around ``error:`` messages.
    """
    prog = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console)
    if console.is_terminal:
        with prog:
            yield prog
    else:
        yield prog


def _run_scan(requests: Path, out: Path, accounts: Optional[Path], releases: Optional[Path],
              intel: Optional[Path], memory_limit: Optional[str], indicators: Optional[Path] = None,
              share_key_file: Optional[Path] = None, engine: str = "duckdb", spark_master: Optional[str] = None,
              spark_staging: Optional[Path] = None, distribution_tests: bool = False,
              work_dir: Optional[Path] = None):
    from distillwatch.errors import DistillwatchError
    from distillwatch.pipeline import STAGES, scan

    failure = None
    with _progress() as prog:
        task = prog.add_task("starting", total=len(STAGES))
        seen: list[str] = []

        def on_stage(name: str) -> None:
            if seen:
                prog.advance(task)
            seen.append(name)
            prog.update(task, description=f"[cyan]{name}[/]")

        try:
            key = None
            if share_key_file:
                from distillwatch.share.fingerprint import load_share_key

                key = load_share_key(share_key_file)
            res = scan(requests, out=out, accounts=accounts, releases=releases, intel_dir=intel,
                       memory_limit=memory_limit, progress=on_stage, indicators=indicators, share_key=key,
                       engine=engine, engine_options={"master": spark_master,
                                                      "staging_dir": str(spark_staging) if spark_staging else None,
                                                      **({"work_dir": str(work_dir)} if work_dir else {})},
                       distribution_tests=distribution_tests)
        except (DistillwatchError, FileNotFoundError) as exc:
            prog.live.transient = True  # no leftover progress line before the error
            failure = exc
        else:
            prog.update(task, completed=len(STAGES), description="[green]done[/]")
    if failure is not None:
        _fail(str(failure))
    return res


def _print_scan_summary(res, intel_note: bool = True) -> None:
    s = res.summary
    out_console.print(f"rows read {s['rows_read']:,} = scored {s['rows_scored']:,} + quarantined "
                      f"{s['rows_quarantined']:,} ({'reconciled' if s['reconciles'] else 'NOT RECONCILED'})")
    if "indicators" in s:
        i = s["indicators"]
        out_console.print(f"  partner indicators {i['file']}: {i['valid']:,} usable, {i['invalid']:,} invalid; "
                          f"{i['accounts_matched']:,} accounts matched"
                          + ("" if i["template_key"] else " (no --share-key-file: template fingerprints not matched)"))
        for p in i["problems"][:5]:
            out_console.print(f"    invalid indicator {p}")
    for f in s["files"][1:]:
        out_console.print(f"  {f['file']}: {f['rows_read']:,} rows read = {f['rows_accepted']:,} accepted + "
                          f"{f['rows_quarantined']:,} quarantined")
    dv = s.get("data_versions") or {}
    if intel_note and dv.get("intel_source") == "none":
        # found by a new-user trial: a scan without IP data said so only in summary.json and report.md
        out_console.print("IP intelligence: built-in table of published ranges (no IP data directory found; "
                          "set --intel or DISTILLWATCH_INTEL_DIR for ASN, country, VPN and Tor data)")
    out_console.print(f"accounts {s['accounts']:,}: ban {s['tiers']['ban']:,}, review {s['tiers']['review']:,}, "
                      f"clear {s['tiers']['clear']:,}; campaigns {s['campaigns']}; "
                      f"total {s['timings_s'].get('total', 0):.1f} s")
    if res.campaigns:
        from distillwatch.report.render import headline

        t = Table(title="campaigns")
        for col in ("id", "score", "headline"):
            t.add_column(col)
        for c in res.campaigns:
            t.add_row(c["campaign_id"], f"{c['score']:.2f}", headline(c))
        out_console.print(t)
    if res.out_dir:
        out_console.print(f"outputs in {res.out_dir} (report: {Path(res.out_dir) / 'report.html'})")


@app.command()
def scan(
    requests: Path = typer.Argument(..., help="Requests file: JSON Lines (.jsonl/.ndjson, optionally .gz) or Parquet."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (created)."),
    accounts: Optional[Path] = typer.Option(None, help="Accounts file: JSON Lines or CSV."),
    releases: Optional[Path] = typer.Option(None, help="Model releases file: JSON Lines with model, released_at."),
    intel: Optional[Path] = typer.Option(None, help="IP-intelligence directory (layout of shared/data/ip)."),
    memory_limit: Optional[str] = typer.Option(None, help="DuckDB memory cap, e.g. 8GB; work beyond it spills to disk."),
    work_dir: Optional[Path] = typer.Option(None, help="DuckDB: keep intermediate tables in a compressed database "
                                            "file in this folder instead of memory (for logs far larger than "
                                            "memory; removed when the scan ends)."),
    indicators: Optional[Path] = typer.Option(None, help="Partner indicators (from `distillwatch import stix`)."),
    share_key_file: Optional[Path] = typer.Option(None, help="Key agreed with partners, to match template fingerprints."),
    engine: str = typer.Option("duckdb", help="Execution engine: duckdb (embedded) or spark (PySpark; docs/scaling.md)."),
    spark_master: Optional[str] = typer.Option(None, help="Spark master URL, e.g. spark://host:7077 (default local[*])."),
    spark_staging: Optional[Path] = typer.Option(None, help="Spark: folder for ingested Parquet; on a cluster, one "
                                                        "every executor can read."),
    distribution_tests: bool = typer.Option(False, "--distribution-tests", help="Also run the window MMD test and "
                                            "topic coverage per account (embeds every request; slower)."),
) -> None:
    """Scan a request log: find and link distillation campaigns, score every account, write reports.

    Writes accounts.csv, campaigns.json, explanations.jsonl, quarantine.jsonl, summary.json,
    report.md, report.html, the evidence tables (*.parquet) and manifest.json into OUT. Runs on
    embedded DuckDB, or on Apache Spark with ``--engine spark`` (local, or ``--spark-master URL``).
    """
    if engine not in ("duckdb", "spark"):
        _fail(f"--engine {engine!r}: expected duckdb or spark")
    if engine != "spark" and (spark_master or spark_staging):
        _fail("--spark-master and --spark-staging apply only with --engine spark")
    if engine == "spark" and work_dir:
        _fail("--work-dir applies only with --engine duckdb (Spark keeps its own intermediates)")
    res = _run_scan(requests, out, accounts, releases, intel, memory_limit, indicators, share_key_file,
                    engine=engine, spark_master=spark_master, spark_staging=spark_staging,
                    distribution_tests=distribution_tests, work_dir=work_dir)
    _print_scan_summary(res)
    if accounts is None:
        # found by a new-user trial: nothing said what a scan without an accounts file gives up
        out_console.print("no --accounts file: identity links (shared cards, signup addresses), creation waves and "
                          "the verified-organisation protection (review, never ban) were not used")


@app.command()
def simulate(
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (created)."),
    seed: int = typer.Option(0, help="Random seed; the same seed gives byte-identical files."),
    scale: float = typer.Option(1.0, help="Size multiplier; 1.0 is about 100k requests."),
    scenario: Optional[str] = typer.Option(None, help="A named scenario of the evaluation suite "
                                                      "(`distillwatch evaluate --list-scenarios`); sets its own days."),
    days: Optional[int] = typer.Option(None, help="Days of traffic (UTC); default 14, or 45 with --requests."),
    requests: Optional[int] = typer.Option(
        None, "--requests", min=1,
        help="Bulk mode: write exactly this many requests to requests.parquet with the vectorised generator "
             "(up to the disclosed 28.8M in minutes); --scale is then ignored."),
    campaign_share: float = typer.Option(0.5, min=0.0, max=1.0, help="Bulk mode: share of requests sent by the campaign."),
    campaign_accounts: Optional[int] = typer.Option(
        None, min=0, help="Bulk mode: campaign accounts (default 25,000 x requests / 28.8M)."),
    benign_accounts: Optional[int] = typer.Option(
        None, min=1, help="Bulk mode: benign accounts (default: benign requests / 60)."),
) -> None:
    """Write labelled traffic built on real prompt corpora and real IP ranges.

    Default mode (the detailed archetypes of docs/simulator.md, about 100k requests at scale 1.0):
    requests.jsonl, accounts.jsonl, releases.jsonl, truth.csv (account_id,label,campaign).

    Bulk mode (--requests N, distillwatch.simulate.bulk): requests.parquet (N rows, time-ordered),
    accounts.jsonl, truth.csv and manifest.json, for scale runs; shaped on the 2026 disclosure of
    about 25,000 accounts sending 28.8M requests over 45 days.
    """
    if requests is not None:
        from distillwatch.simulate.bulk import BulkParams, simulate_bulk

        params = BulkParams(n_requests=requests, days=days or 45, campaign_share=campaign_share,
                            campaign_accounts=campaign_accounts, benign_accounts=benign_accounts)
        try:
            with _progress() as prog:
                task = prog.add_task("simulate --requests", total=requests)
                manifest = simulate_bulk(out, params, seed=seed,
                                         progress=lambda done, total: prog.update(task, completed=done))
        except Exception as exc:  # noqa: BLE001 - report cleanly
            _fail(f"simulate failed: {exc}")
        manifest.pop("corpora", None)
        typer.echo(_describe(manifest))
        return
    from distillwatch.simulate import simulate as run_sim

    scn = None
    if scenario:
        from distillwatch.simulate.scenarios import get_scenario

        try:
            scn = get_scenario(scenario)
        except KeyError as exc:
            _fail(str(exc.args[0]))
    try:
        if scn is not None:
            summary = scn.simulate(out, seed=seed, scale=scale)
        else:
            summary = run_sim(out, seed=seed, scale=scale, days=days or 14)
    except Exception as exc:  # noqa: BLE001 - report cleanly
        _fail(f"simulate failed: {exc}")
    typer.echo(_describe(summary))


def _out_file(out: Optional[Path], default_name: str) -> Optional[Path]:
    """An ``--out`` that is an existing directory means "write ``default_name`` in it"."""
    return out / default_name if out is not None and out.is_dir() else out


def _describe(summary) -> str:
    d = summary if isinstance(summary, dict) else getattr(summary, "__dict__", {"summary": str(summary)})
    return json.dumps(d, indent=2, default=str)


@app.command()
def evaluate(
    truth: Optional[Path] = typer.Option(None, help="truth.csv with account_id,label,campaign."),
    results: Optional[Path] = typer.Option(None, help="A scan's output directory."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the metrics as JSON here."),
    suite: bool = typer.Option(False, "--suite", help="Run the scenario suite instead (simulate, scan, baselines, replay)."),
    seeds: str = typer.Option("301,302,303", help="--suite: comma-separated reporting seeds (never tuning seeds)."),
    scale: float = typer.Option(1.0, help="--suite: simulator scale (1.0 = the full-scale table)."),
    scenarios: Optional[str] = typer.Option(None, help="--suite: comma-separated scenario names (default: all)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="--suite: working folder (default: a temporary one)."),
    doc: Optional[Path] = typer.Option(None, "--doc", help="--suite: write the Markdown table here (e.g. docs/evaluation.md)."),
    replay: bool = typer.Option(True, "--replay/--no-replay", help="--suite: replay logs for time to detection."),
    baselines: bool = typer.Option(True, "--baselines/--no-baselines", help="--suite: run the baseline detectors."),
    floors: str = typer.Option("none", help="--suite: check floors and exit 1 if one is missed: none, targets or ci."),
    list_scenarios: bool = typer.Option(False, "--list-scenarios", help="Print the scenario suite and exit."),
) -> None:
    """Score a scan against truth (precision, recall, ARI), or run the whole scenario suite with --suite.

    With ``--suite`` every scenario of ``distillwatch.simulate.scenarios`` is simulated on each
    reporting seed, scanned, scored, compared with the baselines (daily rate limit, PRADA,
    IsolationForest, window MMD) and replayed for time to detection; ``--doc`` writes the table.
    ``--floors targets`` checks the full targets stated in docs/evaluation.md, ``--floors ci`` the reduced-scale CI floors
    (``distillwatch.evaluate.suite.CI_FLOORS``); a miss exits with status 1.
    """
    from distillwatch.errors import DistillwatchError

    if list_scenarios:
        from distillwatch.simulate.scenarios import scenario_table

        t = Table("scenario", "kind", "days", "what")
        for r in scenario_table():
            t.add_row(r["name"], r["kind"], str(r["days"]), r["description"])
        out_console.print(t)
        return
    if suite:
        from distillwatch.evaluate.suite import CI_FLOORS, TARGETS, check_floors, run_suite, write_markdown

        try:
            seed_list = [int(x) for x in seeds.split(",") if x.strip()]
        except ValueError:
            _fail(f"--seeds {seeds!r}: expected comma-separated integers such as 301,302,303")
        if floors not in ("none", "targets", "ci"):
            _fail(f"--floors {floors!r}: expected none, targets or ci")
        if scale <= 0:
            _fail(f"--scale must be > 0, got {scale}")
        names = [x.strip() for x in scenarios.split(",") if x.strip()] if scenarios else None
        work = out or Path(tempfile.mkdtemp(prefix="distillwatch-suite-"))
        try:
            res = run_suite(work, seeds=seed_list, scale=scale, scenarios=names, replay=replay, baselines=baselines,
                            progress=lambda line: console.print(line))
        except (KeyError, ValueError) as exc:
            _fail(str(exc.args[0]) if exc.args else str(exc))
        cmd = "distillwatch evaluate --suite " + " ".join(a for a in sys.argv[1:] if a != "--suite" and a != "evaluate")
        target = write_markdown(res, doc or (work / "evaluation.md"), cmd.strip())
        out_console.print(f"suite results: {work / 'suite.json'}\ntable: {target}")
        if floors != "none":
            misses = check_floors(res, TARGETS if floors == "targets" else CI_FLOORS)
            for m in misses:
                out_console.print(f"floor missed: {m}")
            if misses:
                raise typer.Exit(1)
        return
    if truth is None or results is None:
        _fail("evaluate needs --truth and --results (or --suite)")
    from distillwatch.evaluate.metrics import evaluate as ev, format_report

    try:
        m = ev(truth, results)
    except (DistillwatchError, FileNotFoundError) as exc:
        _fail(str(exc))
    out_console.print(format_report(m))
    target = json_out or (results / "evaluation.json")
    target.write_text(json.dumps(m, indent=2))
    out_console.print(f"metrics written to {target}")


@app.command()
def demo(
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Working folder (default: a new temporary folder)."),
    seed: int = typer.Option(7, help="Simulation seed (7 is a reporting seed, not used for tuning)."),
    scale: float = typer.Option(0.5, help="Simulation size multiplier."),
) -> None:
    """Simulate labelled traffic, scan it, evaluate the result, and print where the report is."""
    from distillwatch.corpora import load_corpora
    from distillwatch.evaluate.metrics import evaluate as ev, format_report
    from distillwatch.simulate import simulate as run_sim

    work = out or Path(tempfile.mkdtemp(prefix="distillwatch-demo-"))
    data, results = work / "data", work / "results"
    from distillwatch.intel import load_intel

    corp = load_corpora(None)
    names = ", ".join(f"{s['name']} ({s['rows']} rows, {s['licence']})" for s in corp.sources)
    console.print(f"[bold]prompt corpora[/] ({'shared data' if corp.mode == 'shared' else 'PyPI package bfcl-eval'}): {names}")
    intel = load_intel(None)
    console.print("[bold]IP intelligence:[/] " + (intel.source if intel.source != "none" else
                  "built-in table of published ranges (no IP data directory found)"))
    console.print(f"[bold]1/3 simulate[/] into {data}")
    run_sim(data, seed=seed, scale=scale, corpora=corp)
    console.print(f"[bold]2/3 scan[/] into {results}")
    res = _run_scan(data / "requests.jsonl", results, data / "accounts.jsonl", data / "releases.jsonl", None, None)
    _print_scan_summary(res, intel_note=False)  # said above
    console.print("[bold]3/3 evaluate[/]")
    m = ev(data / "truth.csv", results)
    (results / "evaluation.json").write_text(json.dumps(m, indent=2))
    out_console.print(format_report(m))
    out_console.print(f"\nreport: {results / 'report.html'}\n        {results / 'report.md'}")


@app.command()
def report(
    results: Path = typer.Option(..., help="A scan's output directory."),
    format: str = typer.Option("html", "--format", "-f", help="html, md or pdf (pdf needs Chromium)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file (default: RESULTS/dossier.<format>)."),
) -> None:
    """Write the campaign dossier: headline, timeline, capability mix, proxies and ASNs, operator time
    zone, creation waves, linking graph, redacted template examples, release pivot, comparison
    table across campaigns and a tenant view, from the results directory alone."""
    from distillwatch.errors import DistillwatchError
    from distillwatch.report.dossier import render_dossier

    try:
        fmt = format.lower()
        path = render_dossier(results, fmt, _out_file(out, f"dossier.{fmt}"))
    except (DistillwatchError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    out_console.print(f"dossier: {path}")


export_app = typer.Typer(no_args_is_help=True, help="Export shareable evidence from a results directory.")
import_app = typer.Typer(no_args_is_help=True, help="Import partners' shared evidence.")
app.add_typer(export_app, name="export")
app.add_typer(import_app, name="import")


@export_app.command("stix")
def export_stix_cmd(
    results: Path = typer.Option(..., help="A scan's output directory."),
    out: Path = typer.Option(..., "--out", "-o", help="STIX 2.1 bundle to write (JSON)."),
    share_key_file: Optional[Path] = typer.Option(None, help="Key agreed with partners; without it, templates are not shared."),
    tlp: str = typer.Option("amber", help="TLP marking: white, green, amber or red."),
    producer: str = typer.Option("distillwatch", help="Producer identity name in the bundle."),
) -> None:
    """Write campaigns, proxy infrastructure and indicators (IPs, CIDRs, ASNs, user agents, keyed template fingerprints) as a STIX 2.1 bundle.

    No prompt text, account id, email or payment fingerprint leaves; see docs/sharing.md.
    """
    from distillwatch.errors import DistillwatchError
    from distillwatch.share.fingerprint import load_share_key
    from distillwatch.share.stix import export_stix

    try:
        key = load_share_key(share_key_file) if share_key_file else None
        out = _out_file(out, "bundle.json")
        res = export_stix(results, out, share_key=key, tlp=tlp, producer=producer)
    except (DistillwatchError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    out_console.print(f"wrote {out}: " + ", ".join(f"{v} {k}" for k, v in sorted(res["objects"].items())))
    for n in res.get("notes", []):
        out_console.print(f"note: {n}")


@export_app.command("ocsf")
def export_ocsf_cmd(
    results: Path = typer.Option(..., help="A scan's output directory."),
    out: Path = typer.Option(..., "--out", "-o", help="JSON Lines file of OCSF Detection Findings (class 2004)."),
) -> None:
    """Write one OCSF Detection Finding (class 2004) per flagged account and per campaign, validated against the pinned OCSF schema."""
    from distillwatch.errors import DistillwatchError
    from distillwatch.share.ocsf import export_ocsf

    try:
        out = _out_file(out, "findings.ocsf.jsonl")
        res = export_ocsf(results, out)
    except (DistillwatchError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    out_console.print(f"wrote {out}: {res['records']} findings ({res['accounts']} accounts, {res['campaigns']} "
                      f"campaigns), OCSF {res['ocsf_version']}")
    if res["problems"]:
        for p in res["problems"][:20]:
            out_console.print(f"[bold red]invalid[/] {p}")
        raise typer.Exit(1)


@import_app.command("stix")
def import_stix_cmd(
    bundle: Path = typer.Argument(..., help="A partner's STIX 2.1 bundle (JSON)."),
    out: Path = typer.Option(..., "--out", "-o", help="Indicator file to write (JSON Lines) for `scan --indicators`."),
) -> None:
    """Read a partner's STIX 2.1 bundle into an indicator file that `scan --indicators` matches."""
    from distillwatch.errors import DistillwatchError
    from distillwatch.share.stix import import_stix

    try:
        out = _out_file(out, "indicators.jsonl")
        res = import_stix(bundle, out)
    except (DistillwatchError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    out_console.print(f"wrote {out}: {res['written']} indicators ({', '.join(f'{v} {k}' for k, v in sorted(res['by_type'].items()))}); "
                      f"{res['skipped']} skipped")
    reasons = res.get("skipped_reasons") or {}
    for why, n in (reasons.items() if isinstance(reasons, dict) else []):
        out_console.print(f"  skipped {n}: {why}")


@app.command()
def verify(
    results: Path = typer.Argument(..., help="A scan's output directory (with manifest.json)."),
    skip_inputs: bool = typer.Option(False, "--skip-inputs", help="Do not re-hash the input files."),
) -> None:
    """Check a results directory against its manifest.json: re-hash every output (and input) file.

    Exit 0 when everything recorded matches, 1 on any mismatch (each one is listed), 2 when there
    is no readable manifest.
    """
    from distillwatch.report.manifest import verify as run_verify

    try:
        problems, notes = run_verify(results, check_inputs=not skip_inputs)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    for n in notes:
        out_console.print(f"note: {n}")
    for p in problems:
        out_console.print(f"[bold red]MISMATCH[/] {p}")
    if problems:
        raise typer.Exit(1)
    out_console.print(f"ok: every file recorded in {results / 'manifest.json'} matches")


def signals_markdown() -> str:
    """The signal reference (``docs/signals.md``), generated from the registry and the docstrings."""
    import inspect

    from distillwatch.signals import SIGNALS

    out = ["# Signal reference", "",
           "Generated by `distillwatch signals --markdown` from each signal's docstring. Do not edit by hand.", ""]
    for scope in ("request", "account", "campaign"):
        out += [f"## {scope} signals", ""]
        for sid, cls in SIGNALS.items():
            if cls.scope != scope:
                continue
            out += [f"### `{sid}`", "", f"Family: {cls.family}; weight {cls.weight}; version {cls.version}.", "",
                    inspect.getdoc(cls), ""]
    return "\n".join(out)


@app.command("signals")
def list_signals(markdown: bool = typer.Option(False, "--markdown", help="Print the Markdown reference instead.")) -> None:
    """List every registered signal with its id, scope, family and description."""
    from distillwatch.signals import SIGNALS

    if markdown:
        print(signals_markdown())
        return
    if not sys.stdout.isatty():  # piped: one tab-separated line per signal, never truncated
        for sid, cls in SIGNALS.items():
            print(f"{sid}\t{cls.scope}\t{cls.family}\t{cls.description()}")
        return
    t = Table(title="signals")
    for c in ("id", "scope", "family", "description"):
        t.add_column(c)
    for sid, cls in SIGNALS.items():
        t.add_row(sid, cls.scope, cls.family, cls.description())
    out_console.print(t)


# ---- real time at the gateway (issue 5): `serve` and `policy check` ---------------------------
policy_app = typer.Typer(no_args_is_help=True, help="Access policies for `serve` (YAML).")
app.add_typer(policy_app, name="policy")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8787, help="TCP port."),
    state: Path = typer.Option(Path("distillwatch-state"), help="State directory (SQLite WAL store, created)."),
    token: Optional[str] = typer.Option(None, help="Bearer token clients must send (default: $DISTILLWATCH_TOKEN)."),
    no_auth: bool = typer.Option(False, "--no-auth", help="Run without authentication (loopback testing only)."),
    accounts: Optional[Path] = typer.Option(None, help="Accounts file (input contract): identity, country, verification."),
    releases: Optional[Path] = typer.Option(None, help="Model releases file, for the release-pivot signals."),
    intel: Optional[Path] = typer.Option(None, help="IP-intelligence directory (layout of shared/data/ip)."),
    policy: Optional[Path] = typer.Option(None, help="Access policy YAML (see `distillwatch policy check`)."),
    relink_every_s: float = typer.Option(300.0, help="Seconds between background re-links (0 = off)."),
    relink_every_events: int = typer.Option(10_000, help="New events that trigger a re-link (0 = off)."),
    window_s: int = typer.Option(3600, help="Per-account sliding window (seconds)."),
    max_per_window: Optional[int] = typer.Option(None, help="Throttle an account above this many requests per window."),
    sync_full: bool = typer.Option(False, "--sync-full", help="fsync every event (survives power loss, slower)."),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
) -> None:
    """Serve real-time decisions over HTTP: POST /v1/decide -> allow | flag | throttle | block.

    Every request is stored in STATE (SQLite, WAL) before it is answered, so acknowledged events
    survive kill -9. A background re-link runs the batch scan over the stored events and the
    decisions use its tiers and campaigns. Endpoints and payloads: docs/realtime.md.
    """
    import os

    import uvicorn

    from distillwatch.errors import InputError
    from distillwatch.realtime.app import TOKEN_ENV, ServiceConfig, create_app
    from distillwatch.realtime.policy import PolicyError
    from distillwatch.realtime.state import StateError

    tok = token or os.environ.get(TOKEN_ENV) or None
    cfg = ServiceConfig(state_dir=state, token=tok, auth=not no_auth, accounts=accounts, releases=releases,
                        intel_dir=intel, policy=policy, relink_every_s=relink_every_s,
                        relink_every_events=relink_every_events, window_s=window_s, max_per_window=max_per_window,
                        synchronous="FULL" if sync_full else "NORMAL")
    try:
        api = create_app(cfg)
    except (ValueError, InputError, PolicyError, StateError) as exc:
        _fail(str(exc))
    uvicorn.run(api, host=host, port=port, log_level=log_level, workers=1, access_log=False)


@policy_app.command("check")
def policy_check(file: Path = typer.Argument(..., help="Policy YAML file.")) -> None:
    """Validate a policy file; errors name the rule index and field (exit 2 when invalid)."""
    from distillwatch.realtime.policy import PolicyError, load_policy

    try:
        pol = load_policy(file)
    except PolicyError as exc:
        _fail(str(exc))
    out_console.print(f"ok: {file}: {len(pol.rules)} rule(s): " + ", ".join(f"{r.name} ({r.action})" for r in pol.rules))
# ---- end of real time block -------------------------------------------------------------------


def _version(value: bool) -> None:
    if value:
        from distillwatch import __version__

        print(f"distillwatch {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """distillwatch: find, link and explain distillation campaigns in LLM API request logs."""


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
