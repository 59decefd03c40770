"""The kinds of document: each document's name, its module, its partner-facing name and the use
it asks of a sharing agreement.

Shared machinery (running, publishing, the links between documents) and the documents themselves
(``assessment.documents``) both read this module; it imports nothing of either, so neither
depends on the other through it. A document's notebook is ``notebooks/<name>.ipynb``
(:func:`assessment.paths.notebook_path`).
"""

from __future__ import annotations

__all__ = ["DOCUMENTS", "DOCUMENT_MODULES", "DOCUMENT_NAMES", "DOCUMENT_USES"]

#: The documents, in the order an edition renders them.
DOCUMENTS = ("strategic_assessment", "problem_profile", "audit", "evaluation", "data_quality")

#: The module that builds each document (its notebook calls one of its functions per cell).
DOCUMENT_MODULES = {name: f"assessment.documents.{name}" for name in DOCUMENTS}

#: The use each document asks of a sharing agreement (the catalogue's ``permitted_uses``).
DOCUMENT_USES = {
    "strategic_assessment": "strategic assessment",
    "problem_profile": "problem profiles",
    "audit": "audit",
    "evaluation": "evaluation",
    "data_quality": "data quality",
}

#: Partner-facing names of the documents, for the links between them.
DOCUMENT_NAMES = {
    "strategic_assessment": "Strategic assessment",
    "problem_profile": "Problem profile",
    "audit": "Audit",
    "evaluation": "Evaluation",
    "data_quality": "Data quality",
}
