"""Grading policy shared by the nbgrader configuration, the grader CLI and the tests."""

# Python's warnings module writes "<file>:<line>: <Category>Warning: <message>" to stderr.
WARNING_STDERR_PATTERN = r"^\S.*:\d+: \w*Warning: "

# Assignment ids, in course order (../shared/COURSE_SPEC.md).
ASSIGNMENTS = (
    "01_tanh_derivatives",
    "02_jacobian_products",
    "03_eigenvalue_analysis",
    "04_exploding_and_clipping",
    "05_initialization",
    "06_lstm_gru",
    "07_copy_memory",
    "08_gradient_dashboard",
)
