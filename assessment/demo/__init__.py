"""demo stage of the assessment workbench."""
