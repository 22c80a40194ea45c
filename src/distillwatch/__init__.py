"""distillwatch: traffic auditing for LLM APIs.

Finds distillation (model-extraction) campaigns in request logs, links the accounts behind each
one, explains every score with evidence, and writes reports and shareable indicators.

Public API::

    from distillwatch import scan
    result = scan("requests.jsonl", out="results/", accounts="accounts.jsonl")
"""

__version__ = "0.1.0"

__all__ = ["__version__", "scan", "ScanResult"]


def __getattr__(name):  # lazy: importing the package stays cheap
    if name in ("scan", "ScanResult"):
        from distillwatch import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
