"""Stage 4: link accounts through shared artifacts (``graph``) and assemble candidate campaigns (``campaigns``)."""
