"""geography stage of the assessment workbench."""
