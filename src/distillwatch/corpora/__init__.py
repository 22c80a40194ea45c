"""Real prompt corpora for the simulator, grouped by kind of traffic.

``load_corpora()`` reads the shared data bundle (ShareGPT, HH-RLHF, AlpacaEval, GPTeacher,
GSM8K, BFCL v4) or, when it is absent, the BFCL data shipped by the ``bfcl-eval`` package.
"""

from distillwatch.corpora.loader import (
    ENV_VAR,
    KINDS,
    Corpora,
    CorpusError,
    Prompt,
    bfcl_eval_data_dir,
    default_prompts_dir,
    load_corpora,
    parse_hh_transcript,
)

__all__ = [
    "ENV_VAR",
    "KINDS",
    "Corpora",
    "CorpusError",
    "Prompt",
    "bfcl_eval_data_dir",
    "default_prompts_dir",
    "load_corpora",
    "parse_hh_transcript",
]
