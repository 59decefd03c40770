"""intake stage of the assessment workbench."""
