"""Answer rules: what copier.yml accepts, prompts, and the answer-level value types."""
