"""Ingest: read request logs (JSON Lines or Parquet) and the optional accounts and releases files,
validate them against the input contract in SQL, and quarantine bad rows (``lines``, ``requests``, ``tables``)."""
