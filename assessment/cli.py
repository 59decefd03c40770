"""The ``assess`` command line: a thin layer over the package.

Exit codes: 0 success; 1 the data or catalogue cannot be used (the message names the
dataset, file, row and column); 2 a bad command line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

from . import __version__, paths
from .errors import AssessmentError

DEMO_DOCUMENTS: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("strategic_assessment", {}, "strategic_assessment"),
    ("problem_profile", {"topic": "violence"}, "problem_profile_violence"),
    ("problem_profile", {"topic": "burglary"}, "problem_profile_burglary"),
    ("audit", {}, "audit"),
    ("evaluation", {}, "evaluation"),
    ("data_quality", {}, "data_quality"),
)


def _say(message: str) -> None:
    print(message, flush=True)


def _parse_params(items: list[str]) -> dict[str, Any]:
    import yaml

    params: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise argparse.ArgumentTypeError(f"--param must be key=value, got {item!r}")
        key, value = item.split("=", 1)
        if not key.isidentifier():
            raise argparse.ArgumentTypeError(f"--param key must be a Python identifier, got {key!r}")
        parsed = yaml.safe_load(value) if value else ""
        # YAML reads 2026-11-25 as a date, which papermill cannot pass to a notebook (JSON):
        # keep dates as the ISO text the notebooks expect.
        if isinstance(parsed, (dt.date, dt.datetime)):
            parsed = parsed.isoformat()
        params[key] = parsed
    return params


def _holding(out: str | Path | None) -> Any:
    """Hold an output folder for a command (recovering an interrupted publication first), if given."""
    import contextlib

    if out is None:
        return contextlib.nullcontext()
    from .reporting.publish import output_lock

    return output_lock(Path(out), _say)


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import write_demo_partnership
    from .reporting.execute import run_edition
    from .reporting.index import write_index

    t0 = time.perf_counter()
    import os

    # The demo's violence nominals are fictional; a fixed demo key pseudonymises them. Real use
    # must set its own secret key in the environment.
    os.environ.setdefault("ASSESSMENT_PSEUDONYM_KEY", "riverton-demo-key-not-for-real-data")
    raw = paths.DEMO_RAW_DIR
    stamp = raw / ".seed"
    if args.regenerate or not stamp.is_file() or stamp.read_text().strip() != str(args.seed):
        _say(f"Building the Riverton demo partnership's raw files in {raw} (seed {args.seed})")
        write_demo_partnership(raw, seed=args.seed)
        stamp.write_text(f"{args.seed}\n")
    else:
        _say(f"Using the Riverton demo partnership's raw files in {raw} (seed {args.seed})")
    out = Path(args.out) if args.out else paths.OUTPUT_DIR / "riverton"
    wanted = set(args.only or [])
    chosen = [(document, params, stem) for document, params, stem in DEMO_DOCUMENTS
              if not wanted or stem in wanted or document in wanted]
    with _holding(out):  # one demo at a time into one folder, the index included
        # One warm kernel for the whole edition: the libraries are imported once.
        runs, _ = run_edition(chosen, paths.DEMO_CATALOGUE, out, offline=not args.online, progress=_say,
                              exports=() if args.html_only else ("pdf", "docx"))
        index = write_index(out, paths.DEMO_CATALOGUE, runs)
    _say(f"Done in {time.perf_counter() - t0:,.0f} s. Open {index}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from .reporting.execute import run_document

    params = _parse_params(args.param or [])
    stem = args.document.replace("-", "_")
    known = notebook_parameters(stem)
    unknown = sorted(set(params) - known)
    if unknown:
        print(f"assess run: error: --param {', '.join(unknown)} is not a parameter of {args.document}; "
              f"it takes {', '.join(sorted(known))}", file=sys.stderr)
        return 2
    if "topic" in params:
        stem = f"{stem}_{params['topic']}"
    exports = tuple(f for f, wanted in (("pdf", args.pdf), ("docx", args.docx)) if wanted)
    run = run_document(args.document, args.catalogue, args.out, parameters=params, offline=args.offline,
                       progress=_say, output_name=stem, exports=exports)
    _say(f"Wrote {run.html}")
    unusable = _unusable_datasets(Path(args.out))
    if unusable:
        for line in unusable:
            print(f"assess run: {line}", file=sys.stderr)
        n = len(unusable)
        print(f"assess run: the document was written without {n} {'dataset' if n == 1 else 'datasets'}; see "
              "quality/intake.csv", file=sys.stderr)
        return 1
    return 0


def notebook_parameters(document: str) -> set[str]:
    """The names a document's notebook takes in its `parameters` cell."""
    import ast

    import nbformat

    nb = nbformat.read(paths.notebook_path(document), as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    return {t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)}


def _unusable_datasets(out: Path) -> list[str]:
    """Datasets intake refused or could not read in a run, each with its message."""
    import pandas as pd

    path = out / "quality" / "intake.csv"
    if not path.is_file():
        return []
    q = pd.read_csv(path, dtype=str, keep_default_na=False)
    bad = q[q["status"] != "ok"]
    return [f"dataset {d} was not used ({s}): {m}" for d, s, m in zip(bad["dataset"], bad["status"], bad["message"])]


def _cmd_validate(args: argparse.Namespace) -> int:
    from .reporting.workbench import validate_catalogue

    with _holding(args.out):
        ok, summary = validate_catalogue(args.catalogue, out_dir=args.out, progress=_say)
    _say(summary)
    if not ok:
        print("assess validate: some data cannot be used; see the messages above", file=sys.stderr)
    return 0 if ok else 1


def _cmd_coterminosity(args: argparse.Namespace) -> int:
    from .reporting.workbench import coterminosity_report

    with _holding(args.out):
        text = coterminosity_report(args.catalogue, args.from_geog, args.to_geog, out_dir=args.out, progress=_say)
    _say(text)
    return 0


def _cmd_fetch_police(args: argparse.Namespace) -> int:
    from .intake.fetch import fetch_police

    result = fetch_police(args.force, args.start, args.end, Path(args.dest), progress=_say,
                          archive=args.archive, boundary=args.boundary)
    _say(str(result))
    return 0 if not result.failed else 1


def _cmd_init(args: argparse.Namespace) -> int:
    from .intake.public import init_partnership

    if args.from_files:
        result = init_partnership(Path(args.dir), args.authority, args.from_files, police=args.police,
                                  window=args.window, progress=_say)
    else:
        from .intake.online import init_online

        result = init_online(Path(args.dir), args.authority, police=args.police, window=args.window,
                             force=args.force, source_config=args.source_config, progress=_say)
    from .reporting.prose import count_of

    _say(f"{', '.join(result.authorities['name'])}: {count_of(len(result.ward_versions), 'ward version')} "
         f"({', '.join(map(str, result.ward_versions))}), {result.residents:,.0f} residents, "
         f"window {result.window[0]} to {result.window[1]}")
    for note in result.notes:
        _say(f"Note: {note}")
    _say(f"Next: assess validate --catalogue {result.catalogue}")
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    from .demo import write_demo_partnership

    if args.partnerships is not None:
        from .demo.country import write_synthetic_country

        made = write_synthetic_country(Path(args.dest), args.partnerships, seed=args.seed, mean_size=args.mean_size,
                                       progress=_say)
        forces = len({p.force for p in made})
        _say(f"Wrote {len(made)} synthetic partnerships in {forces} force(s) under {args.dest} "
             f"({sum(p.police_rows for p in made):,} police rows); catalogues in {Path(args.dest) / 'partnerships'}")
        return 0
    written = write_demo_partnership(Path(args.dest), seed=args.seed)
    (Path(args.dest) / ".seed").write_text(f"{args.seed}\n")
    _say(f"Wrote {len(written)} demo files under {args.dest}")
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    from .batch import run_batch

    documents = [d.strip() for d in args.documents.split(",") if d.strip()]
    exports = tuple(f for f, wanted in (("pdf", args.pdf), ("docx", args.docx)) if wanted)
    outcomes = run_batch(args.source, args.out, documents=documents, workers=args.workers, scheduler=args.scheduler,
                         exports=exports, offline=not args.online, progress=_say,
                         kernel_memory_mb=args.kernel_memory)
    failed = [o for o in outcomes if o.status == "failed"]
    for o in failed:
        print(f"assess batch: {o.code} ({o.catalogue}) failed: {o.message}", file=sys.stderr)
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``assess``."""
    parser = argparse.ArgumentParser(prog="assess", description="Community safety assessment workbench")
    parser.add_argument("--version", action="version", version=f"assess {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="build the synthetic Riverton partnership and render every document")
    demo.add_argument("--out", help="output folder (default outputs/riverton)")
    demo.add_argument("--seed", type=int, default=2026, help="generator seed (default 2026)")
    demo.add_argument("--online", action="store_true",
                      help="load the map library from its CDN instead of inlining it (smaller files, needs network)")
    demo.add_argument("--regenerate", action="store_true", help="rebuild the raw files even if present")
    demo.add_argument("--only", nargs="*", help="render only these documents (e.g. strategic_assessment)")
    demo.add_argument("--html-only", action="store_true", help="skip the PDF and Word versions")
    demo.set_defaults(func=_cmd_demo)

    run = sub.add_parser("run", help="execute and render one document")
    run.add_argument("document", choices=["strategic-assessment", "problem-profile", "audit", "evaluation", "data-quality"])
    run.add_argument("--catalogue", required=True, help="data catalogue YAML")
    run.add_argument("--out", required=True, help="output folder")
    run.add_argument("--param", action="append", metavar="KEY=VALUE", help="notebook parameter (repeatable)")
    run.add_argument("--offline", action="store_true", help="inline map libraries for use without network")
    run.add_argument("--pdf", action="store_true", help="also print <document>.pdf for the board pack (needs Chromium)")
    run.add_argument("--docx", action="store_true", help="also write <document>.docx for drafting in Word")
    run.set_defaults(func=_cmd_run)

    val = sub.add_parser("validate", help="run intake alone and print a per-dataset summary")
    val.add_argument("--catalogue", required=True)
    val.add_argument("--out", help="write quality/ files here")
    val.set_defaults(func=_cmd_validate)

    cot = sub.add_parser("coterminosity", help="how two geographies fit together")
    cot.add_argument("--catalogue", required=True)
    cot.add_argument("--from", dest="from_geog", required=True, help="source geography key")
    cot.add_argument("--to", dest="to_geog", required=True, help="target geography key")
    cot.add_argument("--out", help="write tables/ and the map here")
    cot.set_defaults(func=_cmd_coterminosity)

    fetch = sub.add_parser("fetch-police", help="fetch data.police.uk files for a force")
    fetch.add_argument("--force", required=True, help="force slug, e.g. city-of-london")
    fetch.add_argument("--from", dest="start", required=True, help="first month YYYY-MM")
    fetch.add_argument("--to", dest="end", required=True, help="last month YYYY-MM")
    fetch.add_argument("--dest", required=True, help="destination folder")
    fetch.add_argument("--boundary", help="boundary file (e.g. the partnership GeoJSON) to fetch street crimes inside")
    fetch.add_argument("--archive", action="store_true", help="use the monthly archive zip instead of the API")
    fetch.set_defaults(func=_cmd_fetch_police)

    init = sub.add_parser("init", help="a real partnership's catalogue and geography from public files")
    init.add_argument("dir", help="partnership folder to write (data_catalogue.yaml and data/)")
    init.add_argument("--authority", action="append", required=True, metavar="CODE_OR_NAME",
                      help="local authority or community safety partnership, code or name (repeatable)")
    init.add_argument("--from-files", dest="from_files", metavar="FOLDER",
                      help="folder of downloaded ONS boundaries, residents and deprivation files")
    init.add_argument("--police", metavar="FOLDER", help="folder of data.police.uk month folders")
    init.add_argument("--window", metavar="YYYY-MM:YYYY-MM", help="assessment window (default: the police months)")
    init.add_argument("--force", metavar="SLUG", help="data.police.uk force slug when fetching online "
                      "(default: the authorities' police force area)")
    init.add_argument("--source-config", dest="source_config", metavar="YAML",
                      help="override the online sources' addresses and service names (see the README)")
    init.set_defaults(func=_cmd_init)

    gen = sub.add_parser("generate-demo", help="write the demo partnership's raw files only")
    gen.add_argument("--dest", default=str(paths.DEMO_RAW_DIR))
    gen.add_argument("--seed", type=int, default=2026)
    gen.add_argument("--partnerships", type=int, metavar="N",
                     help="write a synthetic country of N partnerships in a few forces instead of Riverton alone")
    gen.add_argument("--mean-size", dest="mean_size", type=float, default=1.0,
                     help="with --partnerships: mean partnership size, Riverton = 1 (default 1)")
    gen.set_defaults(func=_cmd_generate)

    bat = sub.add_parser("batch", help="render the documents of many partnerships on Dask")
    bat.add_argument("source", help="folder of catalogues (*.yaml, and data_catalogue.yaml below it) or a list file")
    bat.add_argument("--out", required=True, help="batch output folder (one folder per partnership inside)")
    bat.add_argument("--documents", default="strategic_assessment",
                     help="comma-separated documents (default strategic_assessment; also problem_profile_violence, "
                          "problem_profile_burglary, audit, evaluation, data_quality)")
    bat.add_argument("--workers", type=int, default=2, help="workers of the local Dask cluster (default 2)")
    bat.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler instead of a local cluster")
    bat.add_argument("--pdf", action="store_true", help="also publish each document as PDF (needs Chromium)")
    bat.add_argument("--docx", action="store_true", help="also publish each document as Word")
    bat.add_argument("--online", action="store_true", help="load map libraries from their CDN instead of inlining")
    bat.add_argument("--kernel-memory", type=float, default=2048, metavar="MIB",
                     help="restart a worker's warm kernel after a partnership when it holds more than this many "
                          "MiB (default 2048)")
    bat.set_defaults(func=_cmd_batch)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point. Returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on a bad command line
        return int(exc.code or 0)
    try:
        return int(args.func(args))
    except argparse.ArgumentTypeError as exc:
        print(f"assess: error: {exc}", file=sys.stderr)
        return 2
    except (AssessmentError, ValueError, TypeError, KeyError, FileNotFoundError) as exc:
        print(f"assess {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
