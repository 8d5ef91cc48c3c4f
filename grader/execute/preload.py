"""Imported once by the fork server that starts workers where plain fork is not used (see
grader.execute.autograde): the worker's modules, warmed up so that each worker starts ready."""

from .worker import prewarm

prewarm()
