"""grader.core.cells: hidden tests and exercises, read as nbgrader reads them."""

from __future__ import annotations

import copy

from nbgrader.preprocessors import ClearHiddenTests

from grader.core import cells

# ----------------------------------------------------------------------------- cells


def test_hidden_tests_are_stripped_exactly_as_nbgrader_releases_them(source):
    clear = ClearHiddenTests()
    hidden_cells = [c for c in source.cells if cells.has_hidden_tests(c.source)]
    assert len(hidden_cells) >= 6
    for cell in hidden_cells:
        released = copy.deepcopy(cell)
        clear._remove_hidden_test_region(released)
        assert cells.strip_hidden_tests(cell.source) == released.source
        assert all(line not in released.source.split("\n")
                   for line in cells.hidden_lines(cell.source) if line.strip())


def test_exercises_group_test_cells_under_their_answer(source):
    found = {e.name: e for e in cells.exercises(source)}
    assert found["tanh_derivative"].tests == ("test_tanh_derivative_visible",
                                              "test_tanh_derivative_hidden")
    assert found["knowledge_check"].tests == ("test_knowledge_check",)
    assert found["free_response_saturation"].manual
    assert len(found) == 7
