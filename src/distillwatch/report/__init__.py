"""Outputs of a scan: the file contract (``writer``) and the human reports (``render``)."""
