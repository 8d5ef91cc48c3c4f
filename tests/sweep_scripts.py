"""Checks shared by the tests of the sweep scripts in ``experiments/`` (07's copy sweep, 09's LRU
sweep, 07's non-saturating sweep): each reruns deterministically and resumes."""

import json

import pytest


def without_timing(data: dict) -> dict:
    """The runs of a results file without what depends on when and where they ran."""
    return {key: {k: v for k, v in run.items() if k not in ("seconds", "machine")}
            for key, run in data["runs"].items()}


def tiny_sweep_twice(script, tmp_path) -> tuple[dict, object]:
    """Run ``script``'s tiny sweep into two files; they must agree. Returns the data and the
    path of the first."""
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert script.main(["--tiny", "--quiet", "--output", str(first)]) == 0
    assert script.main(["--tiny", "--quiet", "--output", str(second)]) == 0
    data = json.loads(first.read_text())
    assert without_timing(data) == without_timing(json.loads(second.read_text()))
    return data, first


def assert_resumes(script, output, monkeypatch) -> None:
    """Rerun on ``output``: every run already in it is skipped; another configuration retrains."""
    data = json.loads(output.read_text())

    def must_not_train(config, progress=False):
        raise AssertionError(f"{config.key} was already in the file and should be skipped")

    monkeypatch.setattr(script, "run", must_not_train)
    assert script.main(["--tiny", "--quiet", "--output", str(output)]) == 0
    assert json.loads(output.read_text()) == data
    with pytest.raises(AssertionError, match="should be skipped"):  # another config: retrain
        script.main(["--tiny", "--quiet", "--steps", "20", "--output", str(output)])
