"""Where backups live: a local folder, or any fsspec URL (e.g. S3-compatible object storage).

A backup is a folder ``<id>/`` holding its files and ``manifest.json``. The manifest is
written last, so only whole backups list. On a local disk the folder is assembled under a
hidden ``.partial-<id>`` name, every file flushed to disk, then renamed into place; on an
object store the data files are uploaded first and the manifest, a single PUT, commits it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import fsspec

from cryoprotect.backup.archive import fsync_file, fsync_folder
from cryoprotect.backup.manifest import MANIFEST, Manifest

PARTIAL = ".partial-"


class BackupNotFoundError(LookupError):
    """No backup of the asked id (or time) exists in the store."""


class BackupStore:
    """Backups under ``url``: a folder path or an fsspec URL such as ``s3://bucket/prefix``.

    ``storage_options`` go to fsspec (e.g. ``{"endpoint_url": ...}`` for S3-compatible
    servers; credentials usually come from the environment).
    """

    def __init__(self, url: str | Path, **storage_options) -> None:
        self.url = str(url)
        self.fs, self.root = fsspec.core.url_to_fs(self.url, **storage_options)
        self.local = "file" in (
            self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        )
        self.root = self.root.rstrip("/")

    def _path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    @contextmanager
    def new_backup(self, backup_id: str) -> Iterator[Path]:
        """Yield a local folder to write backup ``backup_id``'s files into, then clean up.

        On a local store the folder is the hidden staging folder itself (no copy later);
        :meth:`commit` makes it a listed backup. Without a commit (an error, or the process
        killed) nothing lists: an error removes the folder, a killed process leaves a
        ``.partial-`` folder that :meth:`remove_partials` clears.

        Raises
        ------
        FileExistsError
            If a backup of the same id exists already.
        """
        if self.fs.exists(self._path(backup_id, MANIFEST)):
            raise FileExistsError(f"backup {backup_id} exists already in {self.url}")
        if not self.local:
            with tempfile.TemporaryDirectory(prefix="cryoprotect-upload-") as folder:
                yield Path(folder)
            return
        staging = Path(self.root) / f"{PARTIAL}{backup_id}"
        staging.mkdir(parents=True)
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # gone already when committed

    def commit(self, manifest: Manifest, folder: Path) -> str:
        """Store the files in ``folder`` (from :meth:`new_backup`) and then the manifest.

        Returns the backup's path (or URL path) in the store.
        """
        final = self._path(manifest.id)
        if not self.local:
            for path in sorted(folder.iterdir()):
                self.fs.put_file(str(path), self._path(manifest.id, path.name))
            self.fs.pipe_file(self._path(manifest.id, MANIFEST), manifest.to_json().encode())
            return final
        (folder / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        fsync_file(folder / MANIFEST)
        fsync_folder(folder)
        os.replace(folder, final)
        fsync_folder(Path(self.root))
        return final

    def probe_write(self) -> None:
        """Write and delete a small file at the store's root, to prove backups can be written.

        Raises
        ------
        OSError
            If the store cannot be written (fsspec's errors for remote stores derive from it).
        """
        path = self._path(f".probe-{uuid.uuid4().hex}")  # hidden: never listed as a backup
        self.fs.makedirs(self.root, exist_ok=True)
        self.fs.pipe_file(path, b"probe")
        self.fs.rm_file(path)

    def manifests(self) -> list[Manifest]:
        """Return the manifests of every whole backup, oldest first."""
        if not self.fs.exists(self.root):
            return []
        found = []
        for entry in self.fs.ls(self.root, detail=True):
            name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
            if entry["type"] != "directory" or name.startswith("."):
                continue
            path = self._path(name, MANIFEST)
            if self.fs.exists(path):
                found.append(Manifest.from_json(self.fs.cat_file(path).decode()))
        return sorted(found, key=lambda m: (m.created, m.id))

    def manifest(self, backup_id: str) -> Manifest:
        """Return the manifest of ``backup_id``.

        Raises
        ------
        BackupNotFoundError
            If there is no whole backup of that id.
        """
        path = self._path(backup_id, MANIFEST)
        if "/" in backup_id or not self.fs.exists(path):
            raise BackupNotFoundError(f"no backup {backup_id!r} in {self.url}")
        return Manifest.from_json(self.fs.cat_file(path).decode())

    def fetch(self, backup_id: str, name: str, work: Path) -> Path:
        """Return a local path to file ``name`` of ``backup_id``.

        On a local store that is the stored file itself (read in place); otherwise the file
        is downloaded into the folder ``work``.
        """
        if self.local:
            return Path(self._path(backup_id, name))
        self.fs.get_file(self._path(backup_id, name), str(work / name))
        return work / name

    def delete(self, backup_id: str) -> None:
        """Remove a backup: its manifest first, so a crash never leaves one listed but broken."""
        self.fs.rm_file(self._path(backup_id, MANIFEST))
        self.fs.rm(self._path(backup_id), recursive=True)

    def partials(self) -> list[str]:
        """Return the names of interrupted backups (never listed; ``prune`` removes them)."""
        if not self.local or not Path(self.root).is_dir():
            return []
        return sorted(p.name for p in Path(self.root).iterdir() if p.name.startswith(PARTIAL))

    def remove_partials(self) -> list[str]:
        """Delete interrupted backups and return their names."""
        names = self.partials()
        for name in names:
            shutil.rmtree(Path(self.root) / name, ignore_errors=True)
        return names
