"""Data: MNIST loading, digit-string synthesis, folder datasets and the one transform."""
