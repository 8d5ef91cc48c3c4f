"""Stage 1, prepare: import submissions from an LMS export (collect) and look at a submission
before it runs (inspection: repair locked cells, scan for monkeypatching)."""
