"""Backups: archives with manifests in a store, SQLite and PostgreSQL, rotation and restores."""
