"""Issue 10 acceptance: every document renders, or says what it lacks, for any catalogue that validates.

Twelve catalogue variants (``tests/_matrix.py``) built from the generated demo and from the real
City of London files run all five documents in this process (the notebooks' cells executed as
papermill would, sharing imports), so the whole matrix costs a few minutes, not sixty papermill
renders. A document must render, or stop with a sentence naming the piece it needs (the CLI then
exits 1); the wording check runs over every page that renders.
"""

from __future__ import annotations

import os
import time

import pytest

from _matrix import MATRIX_DOCUMENTS, VARIANTS, run_document
from _wording import wording_problems

from assessment.errors import AssessmentError

#: Documents that may stop (exit 1) in a variant, and the words their message must contain: the
#: evaluation needs an intervention (start month, wards) inside the data's months.
ALLOWED_STOPS = {
    ("police_only_no_asb", "evaluation"): "The evaluation needs an intervention",
    ("city_of_london", "evaluation"): "The evaluation needs an intervention",
    ("one_month", "evaluation"): "The evaluation needs at least",
    ("thirteen_months", "evaluation"): "`start` must be a month from",
}


@pytest.fixture(scope="module")
def matrix_root(tmp_path_factory):
    return tmp_path_factory.mktemp("matrix")


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_document_renders_or_names_what_it_lacks(variant, demo_catalogue, matrix_root):
    os.environ.setdefault("ASSESSMENT_PSEUDONYM_KEY", "matrix-test-key")
    folder = matrix_root / variant
    catalogue = VARIANTS[variant](demo_catalogue, folder)
    failures, problems, timings = [], [], {}
    for document, params in MATRIX_DOCUMENTS:
        t0 = time.perf_counter()
        try:
            html = run_document(document, catalogue, folder / "out", params, cache_dir=folder / ".cache")
        except (AssessmentError, ValueError) as exc:
            needed = ALLOWED_STOPS.get((variant, document))
            if needed is None or needed not in str(exc):
                failures.append(f"{document}: {type(exc).__name__}: {exc}")
            continue
        except Exception as exc:  # a crash is never an acceptable answer
            failures.append(f"{document}: {type(exc).__name__}: {exc}")
            continue
        finally:
            timings[document] = round(time.perf_counter() - t0, 1)
        problems += [f"{document}: {p}" for p in wording_problems(html)]
    assert not failures, f"{variant} ({timings}):\n" + "\n".join(failures)
    assert not problems, f"{variant}: wording problems:\n" + "\n".join(problems[:40])
