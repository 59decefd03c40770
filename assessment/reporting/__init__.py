"""reporting stage of the assessment workbench."""
