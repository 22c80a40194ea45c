"""Stage 5: combine signals into account risk, tiers and campaigns, with their evidence (``risk``)."""
