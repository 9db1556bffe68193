"""Scanning a large corpus with the detector on a Dask cluster (optional: requirements-scale.txt)."""
