# nbgrader configuration for the rnn-gradients course.
#
# nbgrader reads this file when it runs with grader/ as its working directory; `python -m grader`
# and the tests do that. Paths are relative to the repository root:
#   solutions/<assignment>/<assignment>.ipynb   source (solutions + hidden tests)
#   notebooks/<assignment>/<assignment>.ipynb   release (generated, committed)
#   grader/submitted, grader/autograded, grader/feedback, grader/gradebook.db   student data
from pathlib import Path

from grader.core.policy import WARNING_STDERR_PATTERN
from grader.core.repository import gradebook_url

c = get_config()  # noqa: F821  (injected by traitlets when it loads this file)

repo_root = Path(__file__).resolve().parent.parent

c.CourseDirectory.course_id = "rnn-gradients"
c.CourseDirectory.root = str(repo_root)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.submitted_directory = "grader/submitted"
c.CourseDirectory.autograded_directory = "grader/autograded"
c.CourseDirectory.feedback_directory = "grader/feedback"
# The exchange, for a course on one machine: `python -m grader release` puts each released
# assignment there (nbgrader's release_assignment), so the formgrader shows it as released and
# finds the exchange it looks for. A JupyterHub deployment sets the shared exchange instead, e.g.
#   c.Exchange.root = "/srv/nbgrader/exchange"
c.Exchange.root = str(repo_root / "grader" / "exchange")
c.CourseDirectory.solution_directory = "grader/solution"
c.CourseDirectory.source_with_tests_directory = "grader/source_with_tests"
# The gradebook. A course graded by several people at once (teaching assistants in the
# formgrader, autograde on other machines) keeps it on a PostgreSQL server instead, e.g.
#   c.CourseDirectory.db_url = gradebook_url("postgresql://grader@db.example.org:5432/rnn")
# (the password goes in ~/.pgpass, not here). `python -m grader --db URL` overrides it once.
c.CourseDirectory.db_url = gradebook_url(f"sqlite:///{repo_root / 'grader' / 'gradebook.db'}")

# Execute.timeout, not ExecutePreprocessor.timeout: nbgrader's Execute preprocessor declares its
# own `timeout` trait, so a value given to the parent class is silently ignored.
c.Execute.timeout = 300

# A warning printed to stderr by a correct answer (numpy's RuntimeWarning, say) would score the
# test cell that called it zero: nbgrader treats any stderr output as failure. Warnings are not
# errors, so stderr chunks that are warnings are dropped before grading. A test cell that must
# reject a warning (sigmoid_derivative's overflow check) turns it into an AssertionError itself.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = WARNING_STDERR_PATTERN

# Late work: a submission handed in after the due date of `python -m grader release --due TIME`
# (its time from nbgrader's timestamp.txt or `collect --times`) scores zero, nbgrader's only
# built-in penalty; "none" records the lateness in the report without a penalty. Assignments
# released without --due have no due date, so nothing is ever late.
c.LateSubmissionPlugin.penalty_method = "zero"

# The code that replaces a solution in the released notebook.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
