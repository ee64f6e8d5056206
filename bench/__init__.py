"""Benchmarks: measurements against a real PostgreSQL, run with `python -m bench.<name>`."""
