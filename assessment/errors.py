"""The package's own exception types for domain failures.

Bad arguments raise the built-in ``ValueError`` or ``TypeError``. Failures that
come from the partnership's data or configuration raise one of these, so that the
CLI can report them with the dataset, file, row and column they concern.
"""

from __future__ import annotations


class AssessmentError(Exception):
    """Base class for every domain failure raised by the workbench."""


class CatalogueError(AssessmentError):
    """The data catalogue is malformed, names a missing file or an unknown value."""


class IntakeError(AssessmentError):
    """A dataset cannot be read or harmonised at all (as opposed to bad rows, which are quarantined)."""


class SharingRefused(AssessmentError):
    """A dataset may not be used: no legal basis, expired agreement, or personal data without agreement or key."""


class GeographyError(AssessmentError):
    """Boundaries cannot be read, repaired or related to each other."""


class DisclosureError(AssessmentError):
    """A table would reveal a sensitive count below the suppression threshold."""


class DocumentError(AssessmentError):
    """A document failed to execute or render."""
