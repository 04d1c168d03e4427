"""Evaluation: metrics (pure functions) and running a model over a dataset."""
