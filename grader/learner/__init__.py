"""The learner's side: ``check`` (a whole notebook, graded as autograde would), ``check
--exercise`` (exercise) and ``progress``, sharing one scoring (scoring)."""
