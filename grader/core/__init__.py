"""The floor every stage stands on: the course layout (repository, course), nbgrader cells,
the grading policy and the verdict vocabulary. Imports nothing else of the grader."""
