"""Benchmarks: measurements of Zhiku against a ceiling and a reference recipe (see README.md)."""
