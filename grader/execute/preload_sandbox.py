"""The fork server of a cluster worker's grading children (.dask_cluster): the worker's modules,
warmed up, and the sandbox's self-check run once (it starts a sandboxed Python importing torch),
so that each child inherits its answer instead of paying for it per job."""

from . import preload  # noqa: F401
from .sandbox import check

check()
