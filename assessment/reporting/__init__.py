"""reporting stage of the assessment workbench: the machinery the documents share.

The documents themselves are in :mod:`assessment.documents`. Their old paths here
(``assessment.reporting.strategic`` and the others in ``MOVED``) still import, forwarding every
name to the new module with a DeprecationWarning.
"""

from ._moved import install_forwarding

#: Old module paths of the documents, and where each document is now.
MOVED = {
    "strategic": "assessment.documents.strategic_assessment",
    "profile": "assessment.documents.problem_profile",
    "audit": "assessment.documents.audit",
    "evaluation_report": "assessment.documents.evaluation",
    "quality_report": "assessment.documents.data_quality",
}

install_forwarding(__name__, MOVED)
