"""The documents, one module each: the strategic assessment, the problem profile, the crime and
disorder audit, the evaluation and the data quality document.

Each module is what its notebook (``notebooks/<name>.ipynb``) calls, one function per cell. A
document uses the shared machinery of :mod:`assessment.reporting` and the analysis, geography
and intake stages; it never imports another document (``tests/test_structure.py`` holds this).
"""
