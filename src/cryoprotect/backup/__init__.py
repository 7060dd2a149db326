"""Backups of the database: archives, manifests, stores (fsspec), SQLite, PostgreSQL, rotation."""
