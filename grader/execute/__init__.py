"""Stage 2, execute: grade each submission in a worker process (worker, guarded_execute), its
kernel in a sandbox (sandbox, kernel_guard), its test cells in a verifier kernel that never runs
the submission's code (verify), read what happened (findings); scheduled by autograde
on a backend (the local process pool, or a Dask cluster: dask_cluster)."""
