"""Scoring a scan against labelled truth: precision, recall, false positives per archetype and ARI (``metrics``)."""
