"""Write the thin document notebooks (no outputs) from one place.

Each notebook: a `parameters` cell, an opening cell that imports one document module
(`assessment.documents.<name>`) and opens the document, then one cell per section, each calling
one public function: the key findings first, the document's own sections (``sections`` below),
then the glossary of the terms it used. ``tests/test_notebooks.py`` checks that this writes the
committed notebooks exactly.
Run: .venv/bin/python tools/make_notebooks.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent / "notebooks"

COMMON_PARAMS = '''# Parameters: papermill injects these; the defaults run the demo partnership in JupyterLab.
catalogue = None      # path to data_catalogue.yaml (None: the demo catalogue)
out_dir = None        # where tables and quality files go (None: outputs/interactive)
cache_dir = None      # where intake results are cached between documents
edition = None        # overrides the catalogue's edition
offline = False       # inline map libraries for partners without network access
run_date = None       # YYYY-MM-DD against which sharing agreements are checked
output_name = None    # file stem of this document's tables
published_dir = None  # the folder the edition is published to (tables there are audited with these)'''

DOCUMENTS = {
    "strategic_assessment": {
        "module": "strategic_assessment",
        "intro": "Joint strategic assessment. Each cell calls one function of `assessment.documents.strategic_assessment`.",
        "extra": "",
        "sections": ["section_summary", "section_profile", "section_deprivation", "section_data_sources",
                     "section_trends",
                     "section_multi_agency", "section_reoffending", "section_substance_misuse",
                     "section_domestic_abuse", "section_hate_crime", "section_serious_violence", "section_fire",
                     "section_places", "section_comparison", "section_progress",
                     "section_horizon", "section_priorities", "section_gaps", "section_appendix"],
    },
    "problem_profile": {
        "module": "problem_profile",
        "intro": "Problem profile on one topic. Each cell calls one function of `assessment.documents.problem_profile`.",
        "extra": "\ntopic = \"violence\"       # violence, asb, burglary, vehicle_crime, criminal_damage, drugs, ...",
        "sections": ["section_terms_of_reference", "section_scanning", "section_triangle", "section_time",
                     "section_places", "section_deprivation", "section_partner_data", "section_gaps",
                     "section_recommendations",
                     "section_appendix"],
    },
    "audit": {
        "module": "audit",
        "intro": "Three-yearly crime and disorder audit. Each cell calls one function of `assessment.documents.audit`.",
        "extra": "",
        "sections": ["section_summary", "section_patterns", "section_consultation", "section_concerns_vs_data",
                     "section_provision", "section_strategy_options", "section_previous_strategy",
                     "section_public_summary", "section_appendix"],
    },
    "evaluation": {
        "module": "evaluation",
        "intro": "Evaluation of an intervention. Each cell calls one function of `assessment.documents.evaluation`.",
        "extra": ("\nintervention = None   # name of the intervention (None: from the catalogue's documents settings)"
                  "\nstart = None          # YYYY-MM the intervention began"
                  "\nintervention_wards = None  # ward codes or names where it ran"
                  "\ncomparison_wards = None    # comparison ward codes or names (None: the rest of the partnership)"
                  "\ncategory = None       # crime type evaluated (None: Violence and sexual offences)"
                  "\ncohort_wards = None   # wards for the violence-panel cohort design"),
        "sections": ["section_design", "section_power", "section_did", "section_its", "section_verdict",
                     "section_cohort", "section_appendix"],
    },
    "data_quality": {
        "module": "data_quality",
        "intro": "Data quality and information sharing. Each cell calls one function of `assessment.documents.data_quality`.",
        "extra": "",
        "sections": ["section_summary", "section_datasets", "section_quarantine", "section_coverage",
                     "section_duplicates", "section_geography", "section_sharing_register", "section_caveats",
                     "section_appendix"],
    },
}


#: Sections every document opens and closes with (before and after its own).
OPENING = ("section_key_findings",)
CLOSING = ("section_glossary",)


def build(name: str, spec: dict) -> nbformat.NotebookNode:
    params = COMMON_PARAMS + spec["extra"]
    keys = [line.split("=")[0].strip() for line in params.splitlines() if "=" in line and not line.startswith("#")]
    call = ", ".join(f"{k}={k}" for k in keys if k != "catalogue")
    cells = [
        new_markdown_cell(f"<!-- {spec['intro']} -->"),
        new_code_cell(params, metadata={"tags": ["parameters"]}),
        new_code_cell(f"from assessment.documents import {spec['module']} as document\n"
                      f"doc = document.open_document(catalogue, document=\"{name}\", {call})"),
    ]
    sections = [*OPENING, *spec["sections"], *CLOSING]
    cells += [new_code_cell(f"document.{fn}(doc)") for fn in sections]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def main(root: Path = ROOT) -> None:
    root.mkdir(exist_ok=True)
    for name, spec in DOCUMENTS.items():
        nbformat.write(build(name, spec), root / f"{name}.ipynb")


if __name__ == "__main__":
    main()
