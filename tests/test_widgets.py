"""The explorer of notebook 01 and the ipywidgets wrapper."""

import base64
import os

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils import widgets


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize(("name", "derivative"), [
    ("tanh", lambda x: 1 / np.cosh(x) ** 2),
    ("sigmoid", lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
    ("relu", lambda x: (x > 0).astype(float)),
])
def test_activation_explorer_draws_the_function_and_its_derivative(name, derivative):
    fig = widgets.activation_explorer(name, x_max=3.0, threshold=0.1)
    ax_f, ax_df = fig.axes
    x, dy = ax_df.lines[0].get_data()
    assert x.min() == -3.0 and x.max() == 3.0
    np.testing.assert_allclose(dy, derivative(x), atol=1e-12)
    assert name in ax_f.get_title()
    # shaded bands where f' < 0.1: both tails of tanh and sigmoid, the left half of relu
    assert len(ax_df.patches) == (1 if name == "relu" else 2)


@pytest.mark.parametrize("kwargs", [{"activation": "gelu"}, {"x_max": 0.0}, {"x_max": np.inf},
                                    {"threshold": 0.0}, {"threshold": 1.5}])
def test_activation_explorer_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        widgets.activation_explorer(**kwargs)


def test_widgets_mode(monkeypatch):
    monkeypatch.delenv("COURSE_WIDGETS", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert widgets.widgets_mode() == "interactive"
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert widgets.widgets_mode() == "static"
    monkeypatch.setenv("COURSE_WIDGETS", "interactive")
    assert widgets.widgets_mode() == "interactive"
    monkeypatch.setenv("COURSE_WIDGETS", "sometimes")
    with pytest.raises(ValueError, match="COURSE_WIDGETS"):
        widgets.widgets_mode()


def test_build_explorer_redraws_with_the_controls_values():
    calls = []

    def callback(activation, x_max):
        calls.append((activation, x_max))
        return plt.figure()

    panel = widgets.build_explorer(callback, activation=["tanh", "relu"], x_max=(1.0, 5.0, 0.5))
    dropdown, slider = panel.children[:2]
    assert isinstance(dropdown, ipywidgets.Dropdown) and isinstance(slider, ipywidgets.FloatSlider)
    slider.value = 4.5
    dropdown.value = "relu"
    assert calls == [("tanh", 3.0), ("tanh", 4.5), ("relu", 4.5)]


def test_explore_draws_once_statically_without_a_frontend(monkeypatch):
    monkeypatch.setenv("COURSE_WIDGETS", "static")
    calls = []

    def callback(x_max, activation="relu", scale=3.5):
        calls.append((x_max, activation, scale))
        return plt.figure()

    assert widgets.explore(callback, x_max=(1.0, 5.0, 0.5), activation=["tanh", "relu"],
                           scale=(1.0, 4.0, 0.5)) is None
    assert calls == [(3.0, "relu", 3.5)]  # range midpoint without a default, else the default


def test_parameters_without_a_control_keep_their_defaults(monkeypatch):
    monkeypatch.setenv("COURSE_WIDGETS", "static")
    calls = []

    def callback(scale, ax=None, label="x"):
        calls.append((scale, ax, label))
        return plt.figure()

    widgets.explore(callback, scale=(1.0, 3.0, 1.0))
    panel = widgets.build_explorer(callback, scale=(1.0, 3.0, 1.0))
    assert [type(c).__name__ for c in panel.children[:-1]] == ["FloatSlider"]
    assert calls == [(2.0, None, "x"), (2.0, None, "x")]


def test_interactive_explorers_carry_a_static_picture(tmp_path):
    """Executed without a frontend (as by nbconvert), the output still holds a PNG."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from course_utils import widgets\n"
        "widgets.explore(widgets.activation_explorer, activation=['tanh', 'relu'],\n"
        "                x_max=(1.0, 6.0, 0.5))")])
    env_keys = ("COURSE_WIDGETS", "NBGRADER_EXECUTION")
    saved = {k: os.environ.pop(k) for k in env_keys if k in os.environ}
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        os.environ.update(saved)
    bundles = [o.data for o in nb.cells[0].outputs if o.output_type == "display_data"]
    live = [b for b in bundles if "application/vnd.jupyter.widget-view+json" in b]
    assert len(live) == 1 and "image/png" in live[0]
    assert base64.b64decode(live[0]["image/png"])[:4] == b"\x89PNG"
