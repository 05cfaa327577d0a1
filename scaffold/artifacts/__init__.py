"""Artifact builders: pure functions of the model, one module per family of generated files."""
