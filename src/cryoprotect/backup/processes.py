"""Child processes of backups (``pg_dump``, ``cat``, a replay server) that die with their parent.

A backup or restore killed with ``kill -9`` cannot clean up after itself; its children must
not go on writing. On Linux each child asks the kernel for ``SIGKILL`` when its parent dies
(``PR_SET_PDEATHSIG``), set in the child after any change of user and just before ``exec``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

PR_SET_PDEATHSIG = 1


class ToolError(RuntimeError):
    """An external program failed; the message carries what it printed on standard error."""


def _death_signal_setter() -> Callable[[], None] | None:
    """Return a function for ``preexec_fn`` that ties a child's life to this process."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).prctl
    parent = os.getpid()

    def tie() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return tie


def spawn(command: list[str], **options) -> subprocess.Popen:
    """Start ``command`` as a child that is killed when this process dies.

    ``options`` go to :class:`subprocess.Popen` (``user=`` changes the user first).
    """
    return subprocess.Popen(command, preexec_fn=_death_signal_setter(), **options)  # noqa: S603, PLW1509


def run(
    command: list[str], env: dict[str, str] | None = None, stdin: int | None = None
) -> subprocess.CompletedProcess:
    """Run ``command`` to its end (dying with this process) and return what it printed.

    Raises
    ------
    ToolError
        If it exits non-zero, with its standard error.
    """
    with spawn(
        command, env=env, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        out, err = process.communicate()
    if process.returncode != 0:
        raise ToolError(f"{command[0]} failed: {err.strip()}")
    return subprocess.CompletedProcess(command, process.returncode, out, err)


@contextmanager
def streamed(command: list[str], name: str, **options) -> Iterator[BinaryIO]:
    """Yield the standard output of ``command`` (a child dying with this process) as a stream.

    Its standard error goes to a temporary file (a pipe could fill and stall it). If the
    block fails, the child is killed; if it ends, the child must have succeeded.

    Raises
    ------
    ToolError
        If the child exits non-zero, with what it printed on standard error.
    """
    with tempfile.TemporaryFile() as errors:
        process = spawn(command, stdout=subprocess.PIPE, stderr=errors, **options)
        try:
            yield process.stdout
        except BaseException:
            process.kill()
            process.wait()
            raise
        finally:
            process.stdout.close()
        process.wait()
        if process.returncode != 0:
            errors.seek(0)
            raise ToolError(f"{name} failed: {errors.read().decode(errors='replace').strip()}")
