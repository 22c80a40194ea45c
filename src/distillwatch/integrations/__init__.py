"""Gateway integrations: :mod:`distillwatch.integrations.litellm` (LiteLLM proxy guardrail)."""
