import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils import plotting


def test_course_style_is_applied():
    mpl.rcParams["axes.grid"] = False
    plotting.use_course_style()
    assert mpl.rcParams["axes.grid"] is True
    assert mpl.rcParams["axes.prop_cycle"].by_key()["color"][0] == plotting.PALETTE[0]


def test_shade_where_draws_one_band_per_run():
    x = np.linspace(0, 1, 11)
    mask = np.array([1, 1, 0, 0, 1, 0, 0, 1, 1, 1, 0], dtype=bool)
    fig, ax = plt.subplots()
    plotting.shade_where(ax, x, mask, label="band")
    assert len(ax.patches) == 3
    labels = [p.get_label() for p in ax.patches]
    assert labels.count("band") == 1  # one legend entry, not three
    plt.close(fig)


def test_shade_where_rejects_mismatched_inputs():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="1-D"):
        plotting.shade_where(ax, np.zeros(3), np.zeros(4, dtype=bool))
    plt.close(fig)
