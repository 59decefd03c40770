"""analysis stage of the assessment workbench."""
