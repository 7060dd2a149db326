"""Curation of published reference data into the tables under ``data/reference/``."""
