"""Feature stages: per-request features (``request_features``, stage 2), per-account features
(``account_features``, stage 3) and near-duplicate grouping of sets (``sketches``: MinHash LSH, leader peeling)."""
