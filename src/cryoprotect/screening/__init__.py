"""Screening candidate libraries: stream, standardise, deduplicate, predict, rank."""
