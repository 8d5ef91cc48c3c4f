"""Writing the course: nbgrader source notebooks as percent-format scripts, and back."""
