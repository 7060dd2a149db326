"""Where backups live: a local folder, or any fsspec URL (e.g. S3-compatible object storage).

A backup is a folder ``<id>/`` holding its files and ``manifest.json``; the manifest is
written last, so only whole backups list. Archived PostgreSQL write-ahead log lives in
``wal/``.

Everything temporary lives in the *staging area*: the store's own folder for a local store
(so a finished backup is renamed into place), a local folder for a remote one. Each
temporary folder there (``.partial-<id>`` for a backup being written, ``.scratch-<n>`` for
the work of a restore, a verification or a WAL upload) is claimed with a lock on its
``.lock`` file, held for as long as its process lives. A process killed with ``kill -9``
leaves its folder unclaimed, and the next ``backup create`` or ``prune`` removes it; folders
of processes still running are never touched.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import fsspec

from cryoprotect.backup.archive import fsync_file, fsync_folder
from cryoprotect.backup.manifest import MANIFEST, Manifest, ManifestError

PARTIAL = ".partial-"
SCRATCH = ".scratch-"
LOCK = ".lock"
WAL = "wal"
"""The folder of archived write-ahead log segments (never a backup id)."""


class BackupNotFoundError(LookupError):
    """No backup of the asked id (or time) exists in the store."""


class BrokenBackupError(ManifestError):
    """A backup's ``manifest.json`` cannot be read; other backups are unaffected."""


def _claim(lock: Path) -> int | None:
    """Return a descriptor holding an exclusive lock on ``lock``, or ``None`` if it is held."""
    descriptor = os.open(lock, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    return descriptor


class BackupStore:
    """Backups under ``url``: a folder path or an fsspec URL such as ``s3://bucket/prefix``.

    ``storage_options`` go to fsspec (e.g. ``{"endpoint_url": ...}`` for S3-compatible
    servers; credentials usually come from the environment). ``staging_dir`` is the local
    staging area of a remote store (default: a folder per store under the system's
    temporary folder); a local store stages in its own folder.
    """

    def __init__(self, url: str | Path, staging_dir: Path | None = None, **storage_options) -> None:
        self.url = str(url)
        self.fs, self.root = fsspec.core.url_to_fs(self.url, **storage_options)
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        self.local = "file" in protocols
        self.root = self.root.rstrip("/")
        if self.local:
            self.staging = Path(self.root)
        else:
            name = f"cryoprotect-staging-{hashlib.sha256(self.url.encode()).hexdigest()[:16]}"
            self.staging = staging_dir or Path(tempfile.gettempdir()) / name

    def path(self, *parts: str) -> str:
        """Return the path (or URL path) of ``parts`` under the store's root."""
        return "/".join([self.root, *parts])

    @contextmanager
    def _claimed(self, name: str) -> Iterator[Path]:
        """Yield a new folder ``name`` of the staging area, locked until it is removed."""
        self.staging.mkdir(parents=True, exist_ok=True)
        lock = self.staging / f"{name}{LOCK}"
        descriptor = _claim(lock)  # taken before the folder exists: a sweep never sees it free
        if descriptor is None:
            raise FileExistsError(f"{lock} is held by another process")
        folder = self.staging / name
        try:
            folder.mkdir()
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)  # gone already once committed
            lock.unlink(missing_ok=True)
            os.close(descriptor)

    @contextmanager
    def scratch(self) -> Iterator[Path]:
        """Yield a private working folder in the staging area, removed afterwards."""
        with self._claimed(f"{SCRATCH}{uuid.uuid4().hex[:12]}") as folder:
            yield folder

    @contextmanager
    def new_backup(self, backup_id: str) -> Iterator[Path]:
        """Yield the staging folder to write backup ``backup_id``'s files into.

        :meth:`commit` makes it a listed backup. Without a commit (an error, or the process
        killed) nothing lists: an error removes the folder, a killed process leaves it to
        :meth:`sweep`. Leftovers of earlier killed runs are swept first.

        Raises
        ------
        FileExistsError
            If a backup of the same id exists already.
        """
        if self.fs.exists(self.path(backup_id, MANIFEST)):
            raise FileExistsError(f"backup {backup_id} exists already in {self.url}")
        self.sweep()
        with self._claimed(f"{PARTIAL}{backup_id}") as folder:
            yield folder

    def commit(self, manifest: Manifest, folder: Path) -> str:
        """Store the files in ``folder`` (from :meth:`new_backup`) and then the manifest.

        Returns the backup's path (or URL path) in the store.
        """
        final = self.path(manifest.id)
        if not self.local:
            for path in sorted(folder.iterdir()):
                self.fs.put_file(str(path), self.path(manifest.id, path.name))
            self.fs.pipe_file(self.path(manifest.id, MANIFEST), manifest.to_json().encode())
            return final
        (folder / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        fsync_file(folder / MANIFEST)
        fsync_folder(folder)
        os.replace(folder, final)
        fsync_folder(Path(self.root))
        return final

    def put(self, source: Path, *parts: str) -> None:
        """Store the local file ``source`` at ``parts``, whole or not at all.

        On a local store ``source`` (which must be in the staging area) is flushed and
        renamed into place; an object store's upload is atomic by itself.
        """
        target = self.path(*parts)
        if not self.local:
            self.fs.put_file(str(source), target)
            return
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        fsync_file(source)
        os.replace(source, target)
        fsync_folder(Path(target).parent)

    def fetch(self, work: Path, *parts: str) -> Path:
        """Return a local path to the stored file at ``parts``.

        On a local store that is the stored file itself (read in place); otherwise the file
        is downloaded into the folder ``work``.
        """
        if self.local:
            return Path(self.path(*parts))
        target = work / "-".join(parts)
        self.fs.get_file(self.path(*parts), str(target))
        return target

    def probe_write(self) -> None:
        """Write and delete a small file at the store's root, to prove backups can be written.

        Raises
        ------
        OSError
            If the store cannot be written (fsspec's errors for remote stores derive from it).
        """
        path = self.path(f".probe-{uuid.uuid4().hex}")  # hidden: never listed as a backup
        self.fs.makedirs(self.root, exist_ok=True)
        self.fs.pipe_file(path, b"probe")
        self.fs.rm_file(path)

    def listing(self) -> tuple[list[Manifest], dict[str, str]]:
        """Return the whole backups (oldest first) and the broken ones with their reasons.

        A backup is broken when its ``manifest.json`` is missing, unreadable, of an unknown
        format or names another backup; it never hides the others.
        """
        if not self.fs.exists(self.root):
            return [], {}
        found, broken = [], {}
        for entry in self.fs.ls(self.root, detail=True):
            name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
            if entry["type"] != "directory" or name.startswith(".") or name == WAL:
                continue
            try:
                found.append(self.manifest(name))
            except BrokenBackupError as error:
                broken[name] = str(error).removeprefix(f"backup {name} is broken: ")
            except BackupNotFoundError:
                broken[name] = "no manifest.json: an interrupted upload or deletion"
        return sorted(found, key=lambda m: (m.created, m.id)), broken

    def manifests(self) -> list[Manifest]:
        """Return the manifests of every whole, readable backup, oldest first."""
        return self.listing()[0]

    def manifest(self, backup_id: str) -> Manifest:
        """Return the manifest of ``backup_id``.

        Raises
        ------
        BackupNotFoundError
            If there is no backup of that id.
        BrokenBackupError
            If its manifest cannot be read or checked.
        """
        path = self.path(backup_id, MANIFEST)
        if "/" in backup_id or backup_id.startswith(".") or not self.fs.exists(path):
            raise BackupNotFoundError(f"no backup {backup_id!r} in {self.url}")
        try:
            manifest = Manifest.from_json(self.fs.cat_file(path))
            manifest.created_at  # noqa: B018 (checks the time reads)
        except (ManifestError, OSError, ValueError) as error:
            raise BrokenBackupError(f"backup {backup_id} is broken: {error}") from None
        if manifest.id != backup_id:
            raise BrokenBackupError(
                f"backup {backup_id} is broken: its manifest names backup {manifest.id!r}"
            )
        return manifest

    def delete(self, backup_id: str) -> None:
        """Remove a backup: its manifest first, so a crash never leaves one listed but broken."""
        self.fs.rm_file(self.path(backup_id, MANIFEST))
        self.fs.rm(self.path(backup_id), recursive=True)

    def names(self, *parts: str) -> list[str]:
        """Return the names of the files in the store's folder ``parts`` (none if absent)."""
        folder = self.path(*parts)
        if not self.fs.exists(folder):
            return []
        return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(folder, detail=False))

    def remove(self, *parts: str) -> None:
        """Delete the stored file at ``parts``."""
        self.fs.rm_file(self.path(*parts))

    def _unclaimed(self) -> list[str]:
        """Return the names of staging folders (and lone locks) no running process holds."""
        if not self.staging.is_dir():
            return []
        names = set()
        for entry in self.staging.iterdir():
            name = entry.name.removesuffix(LOCK)
            if name.startswith((PARTIAL, SCRATCH)):
                names.add(name)
        free = []
        for name in sorted(names):
            descriptor = _claim(self.staging / f"{name}{LOCK}")
            if descriptor is not None:
                os.close(descriptor)
                free.append(name)
        return free

    def partials(self) -> list[str]:
        """Return the names of interrupted backups (never listed; ``prune`` removes them)."""
        return [name for name in self._unclaimed() if name.startswith(PARTIAL)]

    def sweep(self) -> list[str]:
        """Remove what killed processes left in the staging area; return the names removed."""
        removed = []
        for name in self._unclaimed():
            descriptor = _claim(self.staging / f"{name}{LOCK}")
            if descriptor is None:  # claimed again meanwhile: a live process owns it
                continue
            try:
                shutil.rmtree(self.staging / name, ignore_errors=True)
                (self.staging / f"{name}{LOCK}").unlink(missing_ok=True)
            finally:
                os.close(descriptor)
            removed.append(name)
        return removed

    def remove_partials(self) -> list[str]:
        """Sweep the staging area; return the interrupted backups removed."""
        return [name for name in self.sweep() if name.startswith(PARTIAL)]
