"""Backups: archives with manifests in a store, SQLite and PostgreSQL, rotation, restores.

Point-in-time recovery on PostgreSQL too. The names below load their module on first use, so
importing the package stays cheap.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "archive": ["CorruptArchiveError"],
        "exclusion": ["restore_in_progress"],
        "manifest": ["Manifest"],
        "operations": ["create_backup", "prune", "restore_backup", "verify_backup"],
        "pitr": ["push_wal"],
        "rotation": ["RotationPolicy"],
        "store": ["BackupNotFoundError", "BackupStore", "BrokenBackupError"],
    },
)
