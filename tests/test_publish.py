"""Tests for assessment/reporting/publish.py: an edition is never lost (issue 9, item 1).

Fault injection over small synthetic editions: every file operation of publishing one
document is counted through the ``FileOps`` layer, then each one in turn is made to fail
(in-process) and, separately, to kill the publishing process (a subprocess that SIGKILLs
itself just before that operation). After each, the output folder must hold exactly the
previous edition or exactly the new one (after the next run's recovery where a kill
interrupted the swap), and no staging folder or journal may remain.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import assessment
from assessment.errors import DocumentError
from assessment.reporting import publish
from assessment.reporting.publish import FileOps, output_lock, publish_document, recover_output

PROJECT = Path(assessment.__file__).resolve().parents[1]
DOC = "doc"

# Another document's files: never touched by publishing DOC.
OTHER = {
    "doc_other.html": b"other document\n",
    "tables/doc_other-01-x.csv": b"area,n\nW1,40\n",
    "notebooks/doc_other.ipynb": b"{}\n",
}
OLD = {
    "doc.html": b"<p>edition 1</p>\n",
    "notebooks/doc.ipynb": b'{"edition": 1}\n',
    "tables/doc-01-wards.csv": b"area,n\nW1,10\n",
    "tables/doc-02-months.csv": b"month,n\n2024-01,5\n",
    "tables/doc-03-dropped.csv": b"gone,n\nx,1\n",  # the new edition has no table 3
    "tables/doc.xlsx": b"PK old workbook",
    "restricted_unsuppressed/doc-01-wards.csv": b"area,n\nW1,2\n",
    "quality/intake.csv": b"dataset,status\na,ok\n",
    "manifest.json": b'{"documents": {"doc": {"edition": 1}, "doc_other": {}}}\n',
}
NEW = {
    "doc.html": b"<p>edition 2</p>\n",
    "notebooks/doc.ipynb": b'{"edition": 2}\n',
    "tables/doc-01-wards.csv": b"area,n\nW1,11\n",
    "tables/doc-02-streets.csv": b"street,n\nHigh St,7\n",  # a new name
    "tables/doc.xlsx": b"PK new workbook",
    "quality/intake.csv": b"dataset,status\na,ok\nb,ok\n",
    "manifest.json": b'{"documents": {"doc": {"edition": 2}, "doc_other": {}}}\n',
}
UNPUBLISHED = {".cache/workbench.pkl": b"unsuppressed cache"}


class QuickOps(FileOps):
    """The real operations, except that flushes to disk are counted but not made.

    ``fsync`` matters for a power cut, not for a killed process (the kernel keeps what was
    written); skipping it keeps the exhaustive loops fast on a busy disk.
    """

    def fsync(self, path):
        self._start("fsync", path)

    def write_text(self, path, text):
        self._start("write", path)
        Path(path).write_text(text, encoding="utf-8")


def _write(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _setup(tmp: Path) -> tuple[Path, Path]:
    """An output folder holding edition 1 (and another document), and edition 2 staged beside it."""
    out = tmp / "out"
    _write(out, {**OTHER, **OLD})
    staging = publish.staging_folder(out, DOC, "0000abcd")
    _write(staging, {**NEW, **UNPUBLISHED})
    return out, staging


PREVIOUS = {**OTHER, **OLD}
# The new edition: old files of the document that it does not have are gone; other documents stay.
COMPLETE_NEW = {**OTHER, **{k: v for k, v in OLD.items() if not k.startswith(("tables/doc-", "restricted_unsuppressed/doc-"))},
                **NEW}


def _leftovers(out: Path) -> list[str]:
    beside = [p.name for p in out.parent.iterdir() if ".staging-" in p.name]
    inside = [p.name for p in out.iterdir() if p.name == publish.TRANSACTION_DIR]
    return beside + inside


def _next_run(out: Path) -> None:
    """What the next run does first: take the lock, recover, sweep."""
    with output_lock(out, ops=QuickOps()):
        pass


def _record_operations(tmp: Path) -> list[tuple[str, str]]:
    out, staging = _setup(tmp)
    seen: list[tuple[str, str]] = []
    publish_document(staging, out, DOC, ops=QuickOps(lambda op, path: seen.append((op, str(path)))))
    assert _snapshot(out) == COMPLETE_NEW
    assert _leftovers(out) == []
    return seen


@pytest.fixture(scope="module")
def operations(tmp_path_factory) -> list[tuple[str, str]]:
    return _record_operations(tmp_path_factory.mktemp("count"))


def _commit_index(ops: list[tuple[str, str]]) -> int:
    """Index of the rename that marks the journal committed (the second journal rename)."""
    renames = [i for i, (op, path) in enumerate(ops) if op == "replace" and path.endswith("journal.json.tmp")]
    assert len(renames) == 2, ops
    return renames[1]


def test_publish_swaps_in_the_new_edition_and_keeps_other_documents(tmp_path):
    out, staging = _setup(tmp_path)
    publish_document(staging, out, DOC)
    assert _snapshot(out) == COMPLETE_NEW  # nothing from .cache, no old table 3, other document untouched
    assert not staging.exists() and _leftovers(out) == []


def test_nothing_old_is_deleted_before_everything_new_is_in_place(operations):
    """Every old file is moved aside, none deleted; the journal is durable before the first move."""
    moves = [i for i, (op, p) in enumerate(operations) if op == "replace" and not p.endswith(".tmp")]
    first_move = moves[0]
    journal_ready = min(i for i, (op, p) in enumerate(operations) if op == "replace" and p.endswith(".tmp"))
    assert journal_ready < first_move
    assert operations[journal_ready + 1][0] == "fsync"  # the journal's folder is flushed before moving
    commit = _commit_index(operations)
    assert not [op for op, _ in operations[:commit] if op in ("unlink", "rmtree")]
    # every staged file was flushed before the journal named it
    flushed = {Path(p).name for op, p in operations[:journal_ready] if op == "fsync"}
    assert {Path(rel).name for rel in NEW} <= flushed


def test_every_operation_failing_leaves_one_complete_edition(tmp_path, operations):
    n = len(operations)
    commit = _commit_index(operations)
    assert n >= 30, f"expected the publication to take every file through several operations, got {n}"
    for k in range(n):
        case = tmp_path / f"fail{k}"
        case.mkdir()
        out, staging = _setup(case)
        count = [0]

        def hook(op, path, k=k, count=count):
            count[0] += 1
            if count[0] - 1 == k:
                raise PermissionError(errno.EPERM, "Operation not permitted (injected)", str(path))

        failed = None
        try:
            publish_document(staging, out, DOC, ops=QuickOps(hook))
        except DocumentError as exc:
            failed = str(exc)
        state = _snapshot(out)
        if k <= commit:
            assert failed is not None, f"operation {k} {operations[k]} failed but the run did not say so"
            assert state == PREVIOUS, f"operation {k} {operations[k]}: the previous edition was not kept"
            assert "Operation not permitted (injected)" in failed and "Traceback" not in failed
            assert Path(operations[k][1]).name in failed, f"the message must name the file: {failed}"
        else:  # the failure came after the commit: the new edition stands and the run succeeds
            assert failed is None, f"operation {k} {operations[k]}: {failed}"
            assert state == COMPLETE_NEW, f"operation {k} {operations[k]}: the new edition is incomplete"
        assert not staging.exists(), f"operation {k} {operations[k]}: staging was left behind"
        _next_run(out)
        assert _snapshot(out) == state and _leftovers(out) == [], f"operation {k} {operations[k]}"


def _killed_at(k: int, staging: Path, out: Path, what: str = "publish") -> int:
    """Publish (or recover) in a forked child that SIGKILLs itself just before operation ``k``.

    Returns the child's fate: ``-SIGKILL`` when operation ``k`` was reached, 0 when the
    work finished first. (Forking is used for the exhaustive loops because a fresh
    interpreter per case would be slow; one test below kills a real ``python`` process.)
    """
    count = [0]

    def hook(op, path):
        if count[0] == k:
            os.kill(os.getpid(), signal.SIGKILL)
        count[0] += 1

    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 0
        try:
            if what == "publish":
                publish_document(staging, out, DOC, ops=QuickOps(hook))
            else:
                recover_output(out, QuickOps(hook))
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    code = os.WEXITSTATUS(status)
    assert code == 0, f"the child failed (exit {code}) instead of being killed at operation {k}"
    return 0


_KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from assessment.reporting.publish import FileOps, output_lock, publish_document

    k, out = int(sys.argv[1]), Path(sys.argv[2])
    count = [0]

    def hook(op, path):
        if count[0] == k:
            os.kill(os.getpid(), signal.SIGKILL)
        count[0] += 1

    with output_lock(out):  # as a run does: lock, recover, sweep, then stage and publish
        staging = Path(sys.argv[3])
        for rel in sys.argv[4:]:
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            (staging / rel).write_bytes(("new " + rel).encode())
        publish_document(staging, out, "doc", ops=FileOps(hook))
    """
)


def test_a_real_process_killed_mid_swap_leaves_the_previous_edition_after_the_next_run(tmp_path, operations):
    """A fresh interpreter, real fsyncs, the lock held, SIGKILLed half-way through moving files in."""
    out = tmp_path / "out"
    _write(out, PREVIOUS)
    staging = publish.staging_folder(out, DOC, "0000cafe")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT), os.environ.get("PYTHONPATH", "")])}
    moves_in = [i for i, (op, p) in enumerate(operations) if op == "replace" and ".staging-" in p]
    k = moves_in[len(moves_in) // 2]
    done = subprocess.run([sys.executable, "-c", _KILLER, str(k), str(out), str(staging), *NEW],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert (out / publish.TRANSACTION_DIR / publish.JOURNAL).is_file() and staging.is_dir()
    assert _snapshot(out) != PREVIOUS  # the kill really interrupted the swap
    _next_run(out)
    assert _snapshot(out) == PREVIOUS and _leftovers(out) == []


def test_a_kill_at_every_operation_leaves_one_complete_edition_after_the_next_run(tmp_path, operations):
    n = len(operations)
    commit = _commit_index(operations)
    for k in range(n + 1):  # k == n: killed by nothing (the control)
        case = tmp_path / f"kill{k}"
        case.mkdir()
        out, staging = _setup(case)
        rc = _killed_at(k, staging, out)
        assert rc == (-signal.SIGKILL if k < n else 0), f"operation {k} was not reached"
        _next_run(out)
        expected = PREVIOUS if k <= commit else COMPLETE_NEW
        assert _snapshot(out) == expected, f"killed before operation {k} {operations[k] if k < n else ''}"
        assert _leftovers(out) == [], f"killed before operation {k}: {_leftovers(out)}"


def test_recovery_itself_survives_a_kill_at_every_operation(tmp_path, operations):
    """Killed half-way through moving the new files in, then killed again at each step of recovery."""
    moves_in = [i for i, (op, p) in enumerate(operations) if op == "replace" and ".staging-" in p]
    k = moves_in[len(moves_in) // 2]
    probe = tmp_path / "probe"
    probe.mkdir()
    out, staging = _setup(probe)
    assert _killed_at(k, staging, out) == -signal.SIGKILL
    steps: list[str] = []
    recover_output(out, QuickOps(lambda op, path: steps.append(op)))
    assert _snapshot(out) == PREVIOUS and len(steps) >= 5
    for j in range(len(steps)):
        case = tmp_path / f"recover{j}"
        case.mkdir()
        out, staging = _setup(case)
        assert _killed_at(k, staging, out) == -signal.SIGKILL
        assert _killed_at(j, staging, out, what="recover") == -signal.SIGKILL
        _next_run(out)
        assert _snapshot(out) == PREVIOUS, f"recovery killed before its operation {j} ({steps[j]})"
        assert _leftovers(out) == []


def test_a_failure_names_the_file_and_the_cause_and_keeps_the_previous_edition(tmp_path):
    out, staging = _setup(tmp_path)
    stuck = out / "tables" / "doc-03-dropped.csv"

    def hook(op, path):
        if op == "replace" and path == stuck:
            raise PermissionError(errno.EPERM, "Operation not permitted", str(path))

    with pytest.raises(DocumentError) as err:
        publish_document(staging, out, DOC, ops=FileOps(hook))
    msg = str(err.value)
    assert str(stuck) in msg and "PermissionError" in msg and "Operation not permitted" in msg
    assert "previous version was left in place" in msg
    assert _snapshot(out) == PREVIOUS and not staging.exists() and _leftovers(out) == []


def test_an_immutable_old_table_is_a_plain_error(tmp_path):
    """A real undeletable file (``chattr +i``), where the file system and privileges allow it."""
    out, staging = _setup(tmp_path)
    stuck = out / "tables" / "doc-03-dropped.csv"
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(stuck)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here (needs root on a file system with attributes)")
    try:
        with pytest.raises(DocumentError, match="Operation not permitted") as err:
            publish_document(staging, out, DOC)
        assert str(stuck) in str(err.value)
        assert _snapshot(out) == PREVIOUS and not staging.exists() and _leftovers(out) == []
    finally:
        subprocess.run([chattr, "-i", str(stuck)], check=True)


def test_a_journal_left_by_a_kill_is_recovered_by_publish_too(tmp_path, operations):
    commit = _commit_index(operations)
    out, staging = _setup(tmp_path)
    assert _killed_at(commit - 2, staging, out) == -signal.SIGKILL  # everything moved, not yet committed
    assert (out / publish.TRANSACTION_DIR / publish.JOURNAL).is_file()
    again = publish.staging_folder(out, DOC, "0000beef")
    _write(again, NEW)
    publish_document(again, out, DOC)  # recovers the first attempt, then publishes
    assert _snapshot(out) == COMPLETE_NEW and _leftovers(out) == []


def test_stale_staging_folders_are_swept_only_for_this_output(tmp_path):
    out = tmp_path / "out"
    mine = [publish.staging_folder(out, "a", "1"), publish.staging_folder(out, "b", "2")]
    theirs = publish.staging_folder(tmp_path / "out_offline", "a", "3")
    for folder in [*mine, theirs]:
        _write(folder, {"x.html": b"x"})
    with output_lock(out):
        pass
    assert not any(f.exists() for f in mine) and theirs.exists()


def test_unreadable_journal_is_refused_with_advice(tmp_path):
    out = tmp_path / "out"
    (out / publish.TRANSACTION_DIR).mkdir(parents=True)
    (out / publish.TRANSACTION_DIR / publish.JOURNAL).write_text("{not json", encoding="utf-8")
    with pytest.raises(DocumentError, match="cannot be read.*backup/"):
        recover_output(out)


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from assessment.reporting.publish import output_lock
    with output_lock(sys.argv[1]):
        print("holding", flush=True)
        time.sleep(60)
    """
)


def test_concurrent_runs_into_one_folder_are_refused_naming_the_holder(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT), os.environ.get("PYTHONPATH", "")])}
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(out)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(DocumentError) as err:
            with output_lock(out):
                pass
        msg = str(err.value)
        assert f"process {holder.pid}" in msg and str(out) in msg and "one at a time" in msg
        info = json.loads(publish.lock_path(out).read_text(encoding="utf-8"))
        assert info["pid"] == holder.pid
    finally:
        holder.send_signal(signal.SIGKILL)  # a killed holder must not leave the folder locked
        holder.wait(timeout=30)
    with output_lock(out) as held:  # the kernel released the dead holder's lock
        assert held == out.resolve()
        with output_lock(out):  # re-entrant within one process (assess demo renders several documents)
            pass


def test_document_files_match_only_this_document(tmp_path):
    out = tmp_path / "out"
    _write(out, {**OTHER, **OLD})
    assert publish.document_files(out, DOC) == sorted(
        ["doc.html", "notebooks/doc.ipynb", "tables/doc-01-wards.csv", "tables/doc-02-months.csv",
         "tables/doc-03-dropped.csv", "tables/doc.xlsx", "restricted_unsuppressed/doc-01-wards.csv"])


def test_an_empty_or_missing_staging_folder_is_refused_and_removes_nothing(tmp_path):
    out, staging = _setup(tmp_path)
    shutil.rmtree(staging)
    with pytest.raises(DocumentError, match="nothing to publish"):
        publish_document(staging, out, DOC)
    staging.mkdir()
    with pytest.raises(DocumentError, match="nothing to publish"):
        publish_document(staging, out, DOC)
    assert _snapshot(out) == PREVIOUS
