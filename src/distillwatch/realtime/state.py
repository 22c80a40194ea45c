"""Durable streaming state: SQLite in WAL mode, one transaction per acknowledged event.

Tables (``<state dir>/state.sqlite``):

* ``events(seq, request_id UNIQUE, account_id, ts_ms, body)``: every accepted request as its
  contract JSON row, the input of the periodic re-link;
* ``acct(account_id, state)``: streaming counters per account (JSON, see :class:`AccountState`);
* ``artifacts(kind, value, account_id)``: which accounts used each shared artifact (client
  fingerprint, system prompt, template sentence, client IP);
* ``relink(account_id, ...)`` and ``relink_runs``: the latest batch re-link's tiers, risks and
  campaign ids, and a log of re-links;
* ``meta(key, value)``: ``schema_version`` (:data:`SCHEMA_VERSION`).

Schema versions: 1 (no ``meta`` table) had no ``sys_cot`` counter in the account state; 2 adds
it. A version-1 store is migrated when opened: ``sys_cot`` is recounted from the stored events
(each re-read with :func:`distillwatch.realtime.features.request_features`, the trained
classifier included, so it takes about as long as replaying the log) and the version is written,
in one transaction. A store written by a newer version raises :class:`StateVersionError`.

Durability: the event, its account's counters and its artifacts are written in the same
transaction, which commits before the HTTP answer is sent (requests arriving together share one
commit: group commit). SQLite's WAL with ``synchronous=NORMAL`` keeps every
committed transaction across a crash of the *process* (``kill -9``), because the WAL frames are
already in the operating system's page cache; only an operating-system crash or power loss can
lose the last transactions (https://www.sqlite.org/wal.html, "synchronous=NORMAL"). Pass
``synchronous="FULL"`` to survive those too, at the cost of an fsync per event.

In memory: the same counters (a cache, reloaded from the tables at start), the account sliding
windows (timestamps of the last ``window_s`` seconds, rebuilt from ``events`` at start) and the
artifact -> accounts sets.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from distillwatch.errors import DistillwatchError, folder_problem
from distillwatch.features.account_features import CROWD_PROMPT_MIN_ACCOUNTS

log = logging.getLogger("distillwatch.realtime")

SCHEMA_VERSION = 2
"""Version of the tables and of the ``acct.state`` JSON this code writes (see the module docstring)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL UNIQUE,
                                  account_id TEXT NOT NULL, ts_ms INTEGER NOT NULL, body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS events_ts ON events(ts_ms);
CREATE TABLE IF NOT EXISTS acct(account_id TEXT PRIMARY KEY, state BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS artifacts(kind TEXT NOT NULL, value TEXT NOT NULL, account_id TEXT NOT NULL,
                                     PRIMARY KEY(kind, value, account_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS relink(account_id TEXT PRIMARY KEY, risk REAL, tier TEXT, campaign_id TEXT,
                                  reasons TEXT, evidence BLOB, run_id INTEGER) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS relink_runs(run_id INTEGER PRIMARY KEY, at_ms INTEGER, upto_seq INTEGER,
                                       n_events INTEGER, n_accounts INTEGER, n_campaigns INTEGER, seconds REAL);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""


class StateError(DistillwatchError):
    """The state folder cannot be used: not a folder, not a state database, or held by another process."""


class StateVersionError(StateError):
    """The state database was written by a newer distillwatch (its ``schema_version`` is unknown here)."""


@dataclass
class AccountState:
    """Streaming counters of one account (all counts are requests; times epoch ms UTC).

    Attributes:
        n: requests seen; n_cot / n_rubric / n_hv: requests eliciting chain of thought, asking for
            rubric grading, in a high-value capability; n_content: requests with text (not digest-only);
        n_tpl_shared: requests whose template sentence was already used by another account;
        first_ms, last_ms: first and last request time;
        models: model -> [requests, first request time];
        sys_cot: system-prompt hash (``RequestFeatures.system_hash``) -> requests whose
            chain-of-thought elicitation sits only in that system prompt (``cot_from_system``).
            Kept per prompt because whether a prompt is a crowd's (at least
            ``CROWD_PROMPT_MIN_ACCOUNTS`` holders) is only known at decision time
            (:meth:`Store.crowd_cot`).
    """

    n: int = 0
    n_content: int = 0
    n_cot: int = 0
    n_rubric: int = 0
    n_hv: int = 0
    n_tpl_shared: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    models: dict = field(default_factory=dict)
    sys_cot: dict = field(default_factory=dict)


class Store:
    """The SQLite store and its in-memory cache (thread-safe through one lock).

    One process owns a store: the folder's ``lock`` file is locked (``flock``, exclusive) for the
    store's lifetime, so a second ``serve`` on the same folder is refused instead of splitting the
    counters between two processes.

    Args:
        state_dir: directory (created) holding ``state.sqlite``.
        window_s: length of the per-account sliding window (seconds).
        synchronous: SQLite ``synchronous`` pragma, ``NORMAL`` (survives kill -9) or ``FULL``.

    Raises:
        StateError: the folder cannot be created or used, another process holds it, or
            ``state.sqlite`` is not an SQLite database (``StateVersionError``: a newer schema).
    """

    def __init__(self, state_dir: str | Path, window_s: int = 3600, synchronous: str = "NORMAL"):
        import fcntl

        self.dir = Path(state_dir)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._lock_file = open(self.dir / "lock", "a+")
        except OSError as exc:
            raise StateError(f"state folder {self.dir}: cannot use it as a folder ({folder_problem(self.dir, exc)})") from exc
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._lock_file.close()
            raise StateError(f"state folder {self.dir} is in use by another process (one process owns a store; "
                             f"stop the other `distillwatch serve` first)") from exc
        self.path = self.dir / "state.sqlite"
        self.window_ms = window_s * 1000
        self.lock = threading.RLock()
        try:
            self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA synchronous={synchronous}")
            self.db.executescript(SCHEMA)
            self._check_version()
        except sqlite3.Error as exc:
            self._lock_file.close()
            raise StateError(f"{self.path} is not a usable distillwatch state database ({exc})") from exc
        except StateError:
            self._lock_file.close()
            raise
        self.accounts: dict[str, AccountState] = {}
        self.artifacts: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.windows: dict[str, deque] = defaultdict(deque)
        self.relinked: dict[str, dict] = {}
        self.artifact_campaign: dict[tuple[str, str], str] = {}
        self.n_events = 0
        self.last_relink: dict | None = None
        self._txn_open = False
        self.broken = False
        self._load()

    # ------------------------------------------------------------------ loading
    def _check_version(self) -> None:
        """Migrate a version-1 store to :data:`SCHEMA_VERSION`; refuse a newer one (see module docstring).

        Raises:
            StateVersionError: the store's ``schema_version`` is not a known version.
        """
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is not None:
            if row[0] != str(SCHEMA_VERSION):
                raise StateVersionError(f"{self.path}: state schema_version {row[0]!r} was written by another "
                                        f"distillwatch version; this one reads version {SCHEMA_VERSION} "
                                        f"(and migrates version 1)")
            return
        n = self.db.execute("SELECT count(*) FROM events").fetchone()[0]
        cur = self.db.cursor()
        cur.execute("BEGIN")
        try:
            if n:
                self._migrate_sys_cot(cur, n)
            cur.execute("INSERT INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    def _migrate_sys_cot(self, cur: sqlite3.Cursor, n_events: int) -> None:
        """Version 1 -> 2: recount every account's ``sys_cot`` from its stored events."""
        from distillwatch.realtime.features import request_features
        from distillwatch.realtime.models import RequestEvent

        log.warning("%s: state schema version 1, recounting system-prompt chain-of-thought from %d stored events",
                    self.path, n_events)
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        for (body,) in self.db.execute("SELECT body FROM events ORDER BY seq"):
            ev = RequestEvent.model_validate(orjson.loads(body))
            f = request_features(ev)
            if f.cot_from_system:
                d = counts[ev.account_id]
                d[f.system_hash] = d.get(f.system_hash, 0) + 1
        for a, blob in list(cur.execute("SELECT account_id, state FROM acct")):
            st = orjson.loads(blob)
            st["sys_cot"] = counts.get(a, {})
            cur.execute("UPDATE acct SET state = ? WHERE account_id = ?", (orjson.dumps(st), a))

    def _load(self) -> None:
        cur = self.db.cursor()
        for a, blob in cur.execute("SELECT account_id, state FROM acct"):
            self.accounts[a] = AccountState(**orjson.loads(blob))
        for k, v, a in cur.execute("SELECT kind, value, account_id FROM artifacts"):
            self.artifacts[(k, v)].add(a)
        self.n_events = cur.execute("SELECT count(*) FROM events").fetchone()[0]
        top = cur.execute("SELECT max(ts_ms) FROM events").fetchone()[0]
        if top is not None:
            for a, ts in cur.execute("SELECT account_id, ts_ms FROM events WHERE ts_ms > ? ORDER BY ts_ms",
                                     (top - self.window_ms,)):
                self.windows[a].append(ts)
        for a, risk, tier, cid, reasons, ev in cur.execute(
                "SELECT account_id, risk, tier, campaign_id, reasons, evidence FROM relink"):
            self.relinked[a] = {"risk": risk, "tier": tier, "campaign_id": cid, "reasons": reasons,
                                "evidence": orjson.loads(ev) if ev else []}
        row = cur.execute("SELECT run_id, at_ms, upto_seq, n_events, n_accounts, n_campaigns, seconds FROM relink_runs "
                          "ORDER BY run_id DESC LIMIT 1").fetchone()
        if row:
            self.last_relink = dict(zip(("run_id", "at_ms", "upto_seq", "n_events", "n_accounts", "n_campaigns",
                                         "seconds"), row))
        self._map_artifacts()

    # ------------------------------------------------------------------ writes
    def stage(self, request_id: str, account_id: str, ts_ms: int, body: bytes, st: AccountState,
              new_artifacts: list[tuple[str, str]]) -> bool:
        """Write one event with its account's new counters and artifacts into the open transaction
        (opened if needed) and update the cache. Durable only after :meth:`commit`.

        Group commit: the service stages every request that arrives in one event-loop turn, commits
        once, and only then answers them (:class:`distillwatch.realtime.app` ``_GroupCommit``).

        Returns:
            False (and changes nothing) when ``request_id`` is already stored or staged.
        """
        with self.lock:
            cur = self.db.cursor()
            if not self._txn_open:
                cur.execute("BEGIN")
                self._txn_open = True
            cur.execute("INSERT OR IGNORE INTO events(request_id, account_id, ts_ms, body) VALUES (?,?,?,?)",
                        (request_id, account_id, ts_ms, body))
            if cur.rowcount == 0:
                return False
            cur.execute("INSERT OR REPLACE INTO acct(account_id, state) VALUES (?,?)",
                        (account_id, orjson.dumps(st.__dict__)))
            if new_artifacts:
                cur.executemany("INSERT OR IGNORE INTO artifacts(kind, value, account_id) VALUES (?,?,?)",
                                [(k, v, account_id) for k, v in new_artifacts])
            self.accounts[account_id] = st
            for kv in new_artifacts:
                self.artifacts[kv].add(account_id)
            w = self.windows[account_id]
            w.append(ts_ms)
            while w and w[0] <= ts_ms - self.window_ms:
                w.popleft()
            self.n_events += 1
            return True

    def commit(self) -> None:
        """Commit the open transaction, if any (every staged event becomes durable).

        Raises:
            sqlite3.Error: the commit failed; the cache may then hold uncommitted events, so the
                store marks itself ``broken`` (restart the service: it reloads from disk).
        """
        with self.lock:
            if not self._txn_open:
                return
            try:
                self.db.execute("COMMIT")
            except sqlite3.Error:
                self.broken = True
                raise
            finally:
                self._txn_open = False

    def append(self, request_id: str, account_id: str, ts_ms: int, body: bytes, st: AccountState,
               new_artifacts: list[tuple[str, str]]) -> bool:
        """:meth:`stage` then :meth:`commit`: one committed transaction per event."""
        with self.lock:
            ok = self.stage(request_id, account_id, ts_ms, body, st, new_artifacts)
            self.commit()
            return ok

    def has_request(self, request_id: str) -> bool:
        """True when an event with this id is stored."""
        with self.lock:
            return self.db.execute("SELECT 1 FROM events WHERE request_id = ?", (request_id,)).fetchone() is not None

    def crowd_cot(self, st: AccountState) -> tuple[int, int]:
        """Crowd chain-of-thought of one account, from the prompts' holders seen so far.

        The streaming twin of the batch ``crowd_cot_share`` / ``crowd_prompt_accounts`` SQL
        (:func:`distillwatch.features.account_features.build_account_features`): a request counts
        when its CoT elicitation sits only in a system prompt that at least
        ``CROWD_PROMPT_MIN_ACCOUNTS`` distinct accounts send. The batch scan counts a prompt's
        holders over the whole log; here they are the accounts that have sent it *so far* (the
        ``system`` artifact), so a prompt becomes a crowd's when its third holder arrives, and
        from then on every stored request under it counts, earlier ones included. After the last
        event of a log both counts are equal.

        Returns:
            ``(crowd_requests, crowd_prompt_accounts)``: requests whose CoT comes only from such a
            prompt, and the most holders of any such prompt of the account (``(0, 0)`` when none).
        """
        n, top = 0, 0
        for h, k in st.sys_cot.items():
            holders = len(self.artifacts.get(("system", h), ()))
            if k > 0 and holders >= CROWD_PROMPT_MIN_ACCOUNTS:
                n += k
                top = max(top, holders)
        return n, top

    def window_count(self, account_id: str, now_ms: int) -> int:
        """Requests of the account in the sliding window ending at ``now_ms``."""
        w = self.windows.get(account_id)
        return sum(1 for t in w if t > now_ms - self.window_ms) if w else 0

    # ------------------------------------------------------------------ re-link
    def max_seq(self) -> int:
        """Sequence number of the newest stored event (0 when empty)."""
        with self.lock:
            return self.db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]

    def adopt_relink(self, rows: list[dict], run: dict) -> None:
        """Replace the re-link table with ``rows`` (account_id, risk, tier, campaign_id, reasons, evidence) and log ``run``."""
        with self.lock:
            self.commit()   # staged events first (they are answered only when their group commits)
            cur = self.db.cursor()
            cur.execute("BEGIN")
            try:
                cur.execute("DELETE FROM relink")
                cur.executemany("INSERT INTO relink VALUES (?,?,?,?,?,?,?)",
                                [(r["account_id"], r["risk"], r["tier"], r["campaign_id"], r["reasons"],
                                  orjson.dumps(r["evidence"]), run["run_id"]) for r in rows])
                cur.execute("INSERT INTO relink_runs VALUES (?,?,?,?,?,?,?)",
                            (run["run_id"], run["at_ms"], run["upto_seq"], run["n_events"], run["n_accounts"],
                             run["n_campaigns"], run["seconds"]))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            self.relinked = {r["account_id"]: {k: r[k] for k in ("risk", "tier", "campaign_id", "reasons", "evidence")}
                             for r in rows}
            self.last_relink = run
            self._map_artifacts()

    def next_run_id(self) -> int:
        """Id for the next re-link run."""
        with self.lock:
            return (self.db.execute("SELECT coalesce(max(run_id), 0) FROM relink_runs").fetchone()[0]) + 1

    def _map_artifacts(self, min_members: int = 2, min_share: float = 0.5) -> None:
        """Map each artifact to a campaign when >= ``min_members`` of its accounts belong to that
        campaign and they are >= ``min_share`` of its accounts (so a popular SDK's fingerprint,
        used by many unrelated accounts, is not campaign evidence; after the linking graph's
        hub pruning, :mod:`distillwatch.linkage.graph`)."""
        camp = {a: r["campaign_id"] for a, r in self.relinked.items() if r.get("campaign_id")}
        out = {}
        if camp:
            for kv, accts in self.artifacts.items():
                counts: dict[str, int] = {}
                for a in accts:
                    c = camp.get(a)
                    if c:
                        counts[c] = counts.get(c, 0) + 1
                if counts:
                    c, k = max(counts.items(), key=lambda t: t[1])
                    if k >= min_members and k / len(accts) >= min_share:
                        out[kv] = c
        self.artifact_campaign = out

    def iter_event_bodies(self, upto_seq: int):
        """Stored contract rows (bytes) with ``seq <= upto_seq`` in time order (read on a separate connection)."""
        con = sqlite3.connect(self.path)
        try:
            for (body,) in con.execute("SELECT body FROM events WHERE seq <= ? ORDER BY ts_ms, seq", (upto_seq,)):
                yield body
        finally:
            con.close()

    def close(self) -> None:
        """Commit anything staged, close the database and release the folder's lock."""
        with self.lock:
            self.commit()
            self.db.close()
            self._lock_file.close()
