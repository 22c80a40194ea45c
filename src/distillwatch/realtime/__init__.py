"""Real time at the gateway: ``distillwatch serve`` decides allow / flag / throttle / block per request.

Modules: :mod:`.models` (request bodies), :mod:`.features` (per-request signals with the batch
lexicons), :mod:`.state` (SQLite WAL store), :mod:`.decide` (the decision), :mod:`.relink`
(periodic batch re-link), :mod:`.policy` (YAML access policy), :mod:`.app` (FastAPI service).
See ``docs/realtime.md``.
"""
