"""Trained per-request classifier: capability (coding, agentic, maths), chain-of-thought elicitation,
rubric grading and extraction-style prompts, scored over Arrow batches.

``PromptClassifier.load().classify_batch`` is the function to hand to ``Engine.map_batches``;
``python -m distillwatch.classify.train`` rebuilds the shipped model (see ``docs/classifier.md``).
"""

from distillwatch.classify.model import HEADS, ModelFileError, PromptClassifier

__all__ = ["HEADS", "ModelFileError", "PromptClassifier"]
