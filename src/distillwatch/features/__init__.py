"""Feature stages: per-request features (``request_features``, stage 2), per-account features
(``account_features``, stage 3) and MinHash LSH near-duplicate grouping (``sketches``)."""
