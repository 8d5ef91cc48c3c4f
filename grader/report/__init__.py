"""Stage 4, report: grades CSVs, LMS import files, plots (grades) and HTML feedback (feedback,
with the course's own MathJax: mathjax)."""
