"""Publish a finished document into its output folder so that no edition can be lost.

A run writes a document's files (HTML, executed notebook, ``tables/<document>-*.csv``,
the Excel workbook, quality files and the merged ``manifest.json``) into a staging folder
``.<out>.staging-<document>-<token>`` beside the output folder. :func:`publish_document`
then swaps them in as one transaction:

1. every new file is flushed to disk (``fsync``);
2. a journal naming every file to be replaced or removed is written to
   ``<out>/.assess-publish/journal.json`` and flushed, before anything moves;
3. each old file of the document is moved aside into ``<out>/.assess-publish/backup/``
   (nothing old is deleted);
4. each new file is moved from staging into place;
5. the journal is marked ``committed`` and flushed: this one rename is the instant the
   new edition replaces the old;
6. the backup, the journal and the staging folder are removed.

If any step fails, the steps already made are undone from the journal (the old files go
back where they were) and :class:`~assessment.errors.DocumentError` names the file and the
cause. If the process is killed, :func:`recover_output` finishes the job at the start of the
next run: a journal not yet committed is rolled back to the previous edition, a committed
one is rolled forward to the new one. :func:`output_lock` serialises runs into one output
folder, and recovers and sweeps dead staging folders before a run does anything else.

Every file operation goes through a :class:`FileOps` object, so tests can count the
operations of a publication and fail or kill any one of them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import glob
import json
import os
import shutil
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import DocumentError

#: Folder inside the output folder holding the journal and backup of a publication in progress.
TRANSACTION_DIR = ".assess-publish"
JOURNAL = "journal.json"
#: Staging content that is never published (the harmonised-data cache holds unsuppressed data).
UNPUBLISHED = (".cache",)


class FileOps:
    """The file operations publishing makes, each announced to ``hook`` before it runs.

    Parameters
    ----------
    hook : callable, optional
        Called as ``hook(operation, path)`` before every operation; it may raise to make
        that operation fail, or end the process to simulate a kill. Tests use it to count
        and target operations; normal runs pass none.

    Attributes
    ----------
    last : tuple of (str, pathlib.Path) or None
        The operation most recently started, used to name the file in error messages.
    """

    def __init__(self, hook: Callable[[str, Path], None] | None = None) -> None:
        self.hook = hook
        self.last: tuple[str, Path] | None = None

    def _start(self, operation: str, path: Path) -> None:
        self.last = (operation, Path(path))
        if self.hook is not None:
            self.hook(operation, Path(path))

    def mkdir(self, path: Path) -> None:
        """Create a folder and any missing parents."""
        self._start("mkdir", path)
        Path(path).mkdir(parents=True, exist_ok=True)

    def replace(self, src: Path, dst: Path) -> None:
        """Move ``src`` to ``dst`` atomically (a rename within one file system)."""
        self._start("replace", src)
        os.replace(src, dst)

    def write_text(self, path: Path, text: str) -> None:
        """Write a file and flush it to disk."""
        self._start("write", path)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())

    def fsync(self, path: Path) -> None:
        """Flush a file's or a folder's entries to disk."""
        self._start("fsync", path)
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def unlink(self, path: Path) -> None:
        """Delete a file."""
        self._start("unlink", path)
        os.unlink(path)

    def rmtree(self, path: Path) -> None:
        """Delete a folder and everything in it."""
        self._start("rmtree", path)
        shutil.rmtree(path)


_VERBS = {"mkdir": "creating", "replace": "moving", "write": "writing", "fsync": "flushing",
          "unlink": "deleting", "rmtree": "removing"}


def _cause(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _where(ops: FileOps) -> str:
    if ops.last is None:
        return "preparing the publication"
    operation, path = ops.last
    return f"{_VERBS.get(operation, operation)} {path}"


def staging_glob(out_dir: Path) -> str:
    """The glob pattern of staging folders of ``out_dir`` (they sit beside it)."""
    return str(Path(out_dir).parent / f".{glob.escape(Path(out_dir).name)}.staging-*")


def staging_folder(out_dir: Path, stem: str, token: str) -> Path:
    """The staging folder of one run of document ``stem`` into ``out_dir``."""
    return Path(out_dir).parent / f".{Path(out_dir).name}.staging-{stem}-{token}"


def lock_path(out_dir: Path) -> Path:
    """The lock file serialising runs into ``out_dir`` (beside it, never inside)."""
    return Path(out_dir).parent / f".{Path(out_dir).name}.lock"


def document_files(out_dir: Path, document: str) -> list[str]:
    """Files of ``out_dir`` that belong to ``document`` alone, relative and sorted.

    Its HTML page, PDF and Word versions and executed notebook, its ``tables/<document>-*.csv`` and workbook, and
    its analyst-only unsuppressed tables. A file of another document never matches:
    ``problem_profile-*`` does not match ``problem_profile_violence-01-x.csv``.
    """
    out = Path(out_dir)
    stem = glob.escape(document)
    patterns = (f"{stem}.html", f"{stem}.pdf", f"{stem}.docx", f"notebooks/{stem}.ipynb", f"tables/{stem}-*.csv",
                f"tables/{stem}.xlsx", f"restricted_unsuppressed/{stem}-*.csv")
    found = {p for pattern in patterns for p in out.glob(pattern) if p.is_file() or p.is_symlink()}
    return sorted(p.relative_to(out).as_posix() for p in found)


def _staged_files(staging: Path) -> list[str]:
    return sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*")
                  if (p.is_file() or p.is_symlink()) and p.relative_to(staging).parts[0] not in UNPUBLISHED)


def _write_journal(ops: FileOps, txn: Path, journal: dict) -> None:
    """Replace the journal atomically and durably (write a copy, flush, rename, flush the folder)."""
    tmp = txn / f"{JOURNAL}.tmp"
    ops.write_text(tmp, json.dumps(journal, indent=1) + "\n")
    ops.replace(tmp, txn / JOURNAL)
    ops.fsync(txn)


def _ensure_dir(ops: FileOps, folder: Path) -> None:
    if not folder.is_dir():
        ops.mkdir(folder)


def publish_document(staging: str | Path, out_dir: str | Path, document: str, ops: FileOps | None = None) -> None:
    """Swap a document's staged files into the output folder as one transaction.

    Parameters
    ----------
    staging : path
        The run's staging folder (beside ``out_dir``, same file system). Every file in it
        except ``.cache/`` is published, replacing the file of the same name; it is removed
        afterwards, whether the publication succeeded or not.
    out_dir : path
        The output folder (created if missing).
    document : str
        The document's file stem; its old files (:func:`document_files`) that the new
        edition does not have are removed with the swap.
    ops : FileOps, optional
        The file-operations layer (tests pass one with a hook).

    Raises
    ------
    DocumentError
        A file could not be moved or written; the message names the file and the cause.
        The previous edition is back in place (or, if even that failed, the journal that
        restores it at the start of the next run is kept and the message says so).

    Notes
    -----
    A kill at any instant leaves either the previous or the new edition complete, or a
    journal from which :func:`recover_output` restores one of the two.
    """
    ops = ops or FileOps()
    staging, out = Path(staging), Path(out_dir)
    txn = out / TRANSACTION_DIR
    if txn.exists():
        try:
            recover_output(out, ops)
        except OSError as exc:
            raise DocumentError(f"could not publish {document!r} into {out}: an earlier interrupted publication "
                                f"could not be recovered: {_where(ops)} failed ({_cause(exc)})") from None
    new = _staged_files(staging) if staging.is_dir() else []
    if not new:
        raise DocumentError(f"could not publish {document!r} into {out}: its staging folder {staging} holds "
                            "nothing to publish, so the previous version was left in place")
    try:
        owned = set(document_files(out, document)) if out.is_dir() else set()
        old = [rel for rel in new if os.path.lexists(out / rel)] + sorted(owned - set(new))
        journal = {"version": 1, "document": document, "staging": str(staging.resolve()),
                   "new": new, "old": old, "committed": False}
        for rel in new:  # new content reaches the disk before anything points at it
            ops.fsync(staging / rel)
        ops.mkdir(txn)
        ops.fsync(out)
        _write_journal(ops, txn, journal)
        backup = txn / "backup"
        touched = {out, txn}
        for rel in old:  # move aside, never delete
            _ensure_dir(ops, (backup / rel).parent)
            ops.replace(out / rel, backup / rel)
            touched.update({(out / rel).parent, (backup / rel).parent})
        for rel in new:
            _ensure_dir(ops, (out / rel).parent)
            ops.replace(staging / rel, out / rel)
            touched.add((out / rel).parent)
        for folder in sorted(touched, key=lambda p: (len(p.parts), str(p)), reverse=True):
            ops.fsync(folder)
        _write_journal(ops, txn, {**journal, "committed": True})  # the new edition is in from here
    except BaseException as exc:
        failure = f"{_where(ops)} failed ({_cause(exc)})"
        try:
            outcome = recover_output(out, ops)
        except BaseException as again:
            if not isinstance(exc, Exception):
                raise exc from None
            raise DocumentError(
                f"could not publish {document!r} into {out}: {failure}. Putting the previous version back "
                f"also failed: {_where(ops)} failed ({_cause(again)}); the journal {txn / JOURNAL} restores it "
                "at the start of the next run into this folder."
            ) from None
        _remove(staging, ops)
        if not isinstance(exc, Exception):
            raise
        if outcome == "new":  # the failure came after the commit: the new edition stands
            return
        raise DocumentError(
            f"could not publish {document!r} into {out}: {failure}. The previous version was left in place "
            "and nothing of the new one was kept."
        ) from None
    _finish(out, staging, ops)


def _finish(out: Path, staging: Path, ops: FileOps) -> None:
    """Drop the backup, the journal and staging after a commit; on failure leave them to recovery."""
    import warnings

    try:
        _cleanup(out / TRANSACTION_DIR, staging, ops)
    except Exception as exc:
        try:
            _cleanup(out / TRANSACTION_DIR, staging, ops)
        except Exception:
            warnings.warn(
                f"the new edition is published in {out}, but {_where(ops)} failed ({_cause(exc)}); "
                "the next run into this folder removes what is left", stacklevel=3)


def _cleanup(txn: Path, staging: Path, ops: FileOps) -> None:
    if (txn / "backup").exists():
        ops.rmtree(txn / "backup")
    if (txn / JOURNAL).exists():
        ops.unlink(txn / JOURNAL)
    if txn.exists():
        ops.rmtree(txn)
    if staging.exists():
        ops.rmtree(staging)


def _remove(folder: Path, ops: FileOps) -> None:
    """Best-effort removal of a staging folder (the next run's sweep removes what is left)."""
    if folder.exists():
        with contextlib.suppress(OSError):
            ops.rmtree(folder)


def recover_output(out_dir: str | Path, ops: FileOps | None = None) -> str | None:
    """Finish a publication that a kill or a failure interrupted.

    Parameters
    ----------
    out_dir : path
        The output folder.
    ops : FileOps, optional
        The file-operations layer.

    Returns
    -------
    str or None
        ``None`` when nothing was interrupted; ``"previous"`` when the previous edition was
        put back (the journal was not committed); ``"new"`` when the new edition was
        already complete and only the backup was dropped; ``"none"`` when the publication
        stopped before anything had moved.

    Notes
    -----
    Idempotent: a kill during recovery is recovered by the next call. A file listed as new
    whose staged copy is gone was moved in, so it is moved back to staging; a backed-up file
    is moved back into place.
    """
    ops = ops or FileOps()
    out = Path(out_dir)
    txn = out / TRANSACTION_DIR
    if not txn.exists():
        return None
    path = txn / JOURNAL
    if not path.is_file():  # stopped before the journal existed: nothing had moved
        ops.rmtree(txn)
        return "none"
    try:
        journal = json.loads(path.read_text(encoding="utf-8"))
        staging, new, old, committed = Path(journal["staging"]), journal["new"], journal["old"], journal["committed"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DocumentError(
            f"the output folder {out} holds an interrupted publication whose journal {path} cannot be read "
            f"({_cause(exc)}); move {txn} away by hand after checking its backup/ folder"
        ) from None
    backup = txn / "backup"
    if not committed:
        touched = {out}
        for rel in reversed(new):
            if not os.path.lexists(staging / rel) and os.path.lexists(out / rel):
                _ensure_dir(ops, (staging / rel).parent)
                ops.replace(out / rel, staging / rel)
        for rel in old:
            if os.path.lexists(backup / rel):
                _ensure_dir(ops, (out / rel).parent)
                ops.replace(backup / rel, out / rel)
                touched.add((out / rel).parent)
        for folder in sorted(touched, key=lambda p: (len(p.parts), str(p)), reverse=True):
            ops.fsync(folder)
    _cleanup(txn, staging, ops)
    return "new" if committed else "previous"


def sweep_staging(out_dir: str | Path, ops: FileOps | None = None) -> list[Path]:
    """Remove the staging folders that dead runs left beside ``out_dir``; return them.

    Call only while holding :func:`output_lock`, which guarantees no live run owns them.
    """
    ops = ops or FileOps()
    swept = sorted(Path(p) for p in glob.glob(staging_glob(Path(out_dir))))
    for folder in swept:
        ops.rmtree(folder)
    return swept


_HELD: dict[Path, list] = {}


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return (f"process {info['pid']} on {info['host']} (`{info['command']}`, started {info['started']})")
    except (OSError, ValueError, KeyError, TypeError):
        return "another process (it has not yet written its name into the lock file)"


@contextlib.contextmanager
def output_lock(out_dir: str | Path, progress: Callable[[str], None] | None = None,
                ops: FileOps | None = None) -> Iterator[Path]:
    """Hold the output folder for one run; recover and sweep before anything else.

    Parameters
    ----------
    out_dir : path
        The output folder. Its parent is created if missing; the lock file
        ``.<out>.lock`` sits beside it.
    progress : callable, optional
        Receives a line when an interrupted publication was recovered or staging swept.
    ops : FileOps, optional
        The file-operations layer used for recovery.

    Yields
    ------
    pathlib.Path
        The resolved output folder.

    Raises
    ------
    DocumentError
        Another process holds the folder (the message names it) or the lock file cannot
        be opened.

    Notes
    -----
    An advisory ``fcntl.flock`` lock: the kernel releases it when its holder dies, however
    it dies, so a killed run never leaves the folder locked. Re-entrant within a process
    (``assess demo`` holds it around every document it renders).
    """
    out = Path(out_dir).resolve()
    if out in _HELD:
        _HELD[out][1] += 1
        try:
            yield out
        finally:
            _HELD[out][1] -= 1
        return
    say = progress or (lambda message: None)
    ops = ops or FileOps()
    lock = lock_path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise DocumentError(f"cannot lock the output folder {out}: opening {lock} failed ({_cause(exc)})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise DocumentError(f"cannot lock the output folder {out}: {lock}: {_cause(exc)}") from None
            raise DocumentError(
                f"the output folder {out} is in use by {_holder(lock)}; runs into one folder go one at a "
                "time, so wait for it to finish or choose another --out"
            ) from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv),
                "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode("utf-8"), 0)
        _HELD[out] = [fd, 1]
        try:
            outcome = recover_output(out, ops)
            if outcome == "previous":
                say(f"An interrupted run had left {out} half-published; the previous version was put back")
            elif outcome == "new":
                say(f"An interrupted run had published into {out}; its leftover backup was removed")
            swept = sweep_staging(out, ops)
            if swept:
                say(f"Removed {len(swept)} staging folder(s) left beside {out} by runs that stopped")
        except OSError as exc:
            raise DocumentError(
                f"could not recover the interrupted publication in {out}: {_where(ops)} failed ({_cause(exc)})"
            ) from None
        yield out
    finally:
        _HELD.pop(out, None)
        os.close(fd)  # closing the descriptor releases the lock
