"""Instructor tooling for the rnn-gradients course: nbgrader configuration and wrappers."""
