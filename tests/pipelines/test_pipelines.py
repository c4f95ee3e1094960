"""Pipelines run for real: steps traced, run, stored, cached, retried and tracked."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import shipyard as sy
from shipyard.errors import NotFound, ValidationError
from shipyard.pipelines import codec
from shipyard.pipelines.loading import load_pipeline
from shipyard.pipelines.runner import PipelineResult
from shipyard.workspace import Workspace

FLOW = """
    import pandas as pd
    import shipyard as sy

    CALLS = []

    @sy.step
    def load(n: int) -> pd.DataFrame:
        CALLS.append("load")
        return pd.DataFrame({"x": list(range(n)), "y": [2.0 * i for i in range(n)]})

    @sy.step
    def clip(n: int) -> int:
        CALLS.append("clip")
        return min(n, 5)

    @sy.step
    def fit(df: pd.DataFrame, scale: float) -> dict:
        CALLS.append("fit")
        return {"slope": float((df.y / df.x.clip(lower=1)).iloc[1:].mean() * scale)}

    @sy.step
    def report(model: dict, rows: int) -> str:
        CALLS.append("report")
        return f"{model['slope']:.2f} on {rows} rows"

    @sy.pipeline
    def demo(n: int = 10, scale: float = 1.0):
        df = load(n)
        model = fit(df, scale)
        report(model, clip(n))
"""


def statuses(result: PipelineResult) -> dict[str, str]:
    return {step.name: step.status for step in result.steps}


def test_a_pipeline_runs_its_steps_in_order_and_tracks_the_run(
    ws: Workspace, write_module: Callable[..., Path]
) -> None:
    write_module("flow_a", FLOW)
    module = importlib.import_module("flow_a")
    result = ws.pipelines.run(module.demo, {"n": 4})
    assert result.status == "succeeded"
    assert statuses(result) == dict.fromkeys(["load", "fit", "clip", "report"], "succeeded")
    assert module.CALLS == ["load", "clip", "fit", "report"]  # wave by wave
    assert ws.pipelines.output(result, "report") == "2.00 on 4 rows"
    run = ws.runs.get(result.run_id)
    assert (run.experiment, run.status) == ("demo", "finished")
    assert run.params == {"n": "4", "scale": "1.0"}
    assert run.tags["shipyard.pipeline"] == "demo"
    assert set(run.metrics) >= {"step.load.seconds", "step.report.seconds"}


def test_unchanged_steps_are_cached_and_changes_rerun_only_what_they_reach(
    ws: Workspace, write_module: Callable[..., Path]
) -> None:
    write_module("flow_b", FLOW)
    module = importlib.import_module("flow_b")
    ws.pipelines.run(module.demo, {"n": 8})
    module.CALLS.clear()
    again = ws.pipelines.run(module.demo, {"n": 8})
    assert set(statuses(again).values()) == {"cached"}
    assert (again.cached, module.CALLS) == (4, [])
    assert ws.pipelines.output(again, "report") == "2.00 on 5 rows"  # read back, not rerun

    rescaled = ws.pipelines.run(module.demo, {"n": 8, "scale": 2.0})
    assert statuses(rescaled) == {
        "load": "cached",
        "fit": "succeeded",
        "clip": "cached",
        "report": "succeeded",
    }
    assert ws.pipelines.output(rescaled, "report") == "4.00 on 5 rows"

    module.CALLS.clear()
    more = ws.pipelines.run(module.demo, {"n": 9, "scale": 2.0})
    # clip(9) is still 5 and the slope of the longer frame still 4.0: report is cached
    assert statuses(more) == {
        "load": "succeeded",
        "fit": "succeeded",
        "clip": "succeeded",
        "report": "cached",
    }
    assert module.CALLS == ["load", "clip", "fit"]


def test_an_output_that_comes_out_the_same_leaves_later_steps_cached(
    ws: Workspace, write_module: Callable[..., Path]
) -> None:
    write_module(
        "flow_cutoff",
        """
        import shipyard as sy

        @sy.step
        def clip(n: int) -> int:
            return min(n, 5)

        @sy.step
        def square(k: int) -> int:
            return k * k

        @sy.pipeline
        def cut(n: int = 1):
            square(clip(n))
        """,
    )
    module = importlib.import_module("flow_cutoff")
    ws.pipelines.run(module.cut, {"n": 7})
    result = ws.pipelines.run(module.cut, {"n": 9})
    assert statuses(result) == {"clip": "succeeded", "square": "cached"}


def test_a_code_change_reruns_the_step(ws: Workspace, write_module: Callable[..., Path]) -> None:
    source = """
        import shipyard as sy

        @sy.step
        def base() -> int:
            return 20

        @sy.step
        def bump(k: int) -> int:
            return k + 1

        @sy.pipeline
        def flow():
            bump(base())
    """
    path = write_module("flow_code", source)
    first = ws.pipelines.run(load_pipeline(f"{path}:flow"))
    assert statuses(first) == {"base": "succeeded", "bump": "succeeded"}
    write_module("flow_code", source.replace("k + 1", "k + 2"))
    second = ws.pipelines.run(load_pipeline(f"{path}:flow"))
    assert statuses(second) == {"base": "cached", "bump": "succeeded"}
    assert ws.pipelines.output(second, "bump") == 22


def test_a_dataset_ref_stands_for_its_version(
    ws: Workspace, write_module: Callable[..., Path], tmp_path: Path
) -> None:
    write_module(
        "flow_data",
        """
        import shipyard as sy

        @sy.step
        def load(ref: str):
            return sy.connect().data.load(ref)

        @sy.step
        def rows(df) -> int:
            return len(df)

        @sy.pipeline
        def count(ref: str = "credit@latest"):
            rows(load(ref))
        """,
    )
    module = importlib.import_module("flow_data")
    ws.data.add("credit", pd.DataFrame({"a": [1, 2, 3]}))
    first = ws.pipelines.run(module.count)
    assert ws.pipelines.output(first, "rows") == 3
    assert ws.runs.get(first.run_id).inputs == ["credit@v1"]
    assert set(statuses(ws.pipelines.run(module.count)).values()) == {"cached"}
    ws.data.add("credit", pd.DataFrame({"a": [1, 2, 3, 4]}))
    fresh = ws.pipelines.run(module.count)
    assert statuses(fresh) == {"load": "succeeded", "rows": "succeeded"}
    assert ws.pipelines.output(fresh, "rows") == 4


def test_retries_and_failures(ws: Workspace, write_module: Callable[..., Path]) -> None:
    write_module(
        "flow_flaky",
        """
        import shipyard as sy

        ATTEMPTS = []

        @sy.step(retries=2)
        def flaky(fail_times: int) -> int:
            ATTEMPTS.append(1)
            if len(ATTEMPTS) <= fail_times:
                raise ConnectionError(f"attempt {len(ATTEMPTS)} lost")
            return len(ATTEMPTS)

        @sy.step
        def after(k: int) -> int:
            return k * 10

        @sy.step
        def beside() -> str:
            return "independent"

        @sy.pipeline
        def shaky(fail_times: int = 1):
            beside()
            after(flaky(fail_times))
        """,
    )
    module = importlib.import_module("flow_flaky")
    recovered = ws.pipelines.run(module.shaky, {"fail_times": 2})
    assert recovered.status == "succeeded"
    assert [s.attempts for s in recovered.steps if s.name == "flaky"] == [3]

    module.ATTEMPTS.clear()
    broken = ws.pipelines.run(module.shaky, {"fail_times": 5})
    assert broken.status == "failed"
    assert statuses(broken) == {"beside": "cached", "flaky": "failed", "after": "skipped"}
    assert broken.error == "step 'flaky' failed after 3 attempts: ConnectionError: attempt 3 lost"
    assert ws.runs.get(broken.run_id).status == "failed"
    with pytest.raises(NotFound, match="left no output"):
        ws.pipelines.output(broken, "flaky")
    assert len(module.ATTEMPTS) == 3


def test_building_checks_the_calls(write_module: Callable[..., Path]) -> None:
    write_module(
        "flow_bad",
        """
        import shipyard as sy

        @sy.step
        def one(k: int) -> int:
            return k

        @sy.step
        def pair() -> tuple:
            return (1, 2)

        @sy.pipeline
        def twice():
            one(one(1))

        @sy.pipeline
        def branching():
            if one(1):
                one(2)

        @sy.pipeline
        def unpacking():
            a, b = pair()

        @sy.pipeline
        def wrong_call():
            one(1, 2)

        @sy.pipeline
        def empty():
            return None
        """,
    )
    module = importlib.import_module("flow_bad")
    assert [node.name for node in module.twice.build().nodes] == ["one", "one_2"]
    assert module.twice.build().nodes[1].inputs() == [0]
    with pytest.raises(ValidationError, match="branch inside a step"):
        module.branching.build()
    with pytest.raises(ValidationError, match="cannot be unpacked"):
        module.unpacking.build()
    with pytest.raises(ValidationError, match="step 'one' is called wrongly"):
        module.wrong_call.build()
    with pytest.raises(ValidationError, match="calls no step"):
        module.empty.build()
    with pytest.raises(ValidationError, match="no parameter|unexpected keyword"):
        module.twice.build(nope=1)
    assert module.twice.name == "twice"


def test_a_step_outside_a_pipeline_is_its_function() -> None:
    @sy.step
    def double(k: int) -> int:
        return 2 * k

    assert double(4) == 8


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (pd.DataFrame({"a": [1, 2], "b": ["x", None]}), "parquet"),
        (np.arange(12, dtype=np.float32).reshape(3, 4), "npy"),
        ({"a": [1, 2.5, None], "b": "text"}, "json"),
        ((1, 2), "pickle"),
        (pd.DataFrame({"m": [1, "a"]}), "pickle"),  # a mixed column Parquet cannot hold
        (np.array(["a", None], dtype=object), "pickle"),
    ],
)
def test_outputs_come_back_as_they_were(value: Any, kind: str) -> None:
    stored_kind, data = codec.encode(value)
    assert stored_kind == kind
    back = codec.decode(stored_kind, data)
    if isinstance(value, pd.DataFrame):
        pd.testing.assert_frame_equal(back, value)
    elif isinstance(value, np.ndarray):
        np.testing.assert_array_equal(back, value)
        assert back.dtype == value.dtype
    else:
        assert back == value


def test_calling_a_pipeline_runs_it_in_the_workspace(
    ws: Workspace, write_module: Callable[..., Path]
) -> None:
    write_module("flow_call", FLOW)
    module = importlib.import_module("flow_call")
    result = module.demo(n=3)  # SHIPYARD_HOME names the fixture's workspace
    assert result.status == "succeeded"
    assert ws.runs.get(result.run_id).experiment == "demo"


def test_caching_the_same_call_twice_keeps_the_last(ws: Workspace) -> None:
    from shipyard.storage.sql.step_cache import CachedOutput, SqlStepCache

    store = SqlStepCache()
    first = CachedOutput("k" * 64, "fit", "a" * 64, "json", 3, "r1", "2026-01-01T00:00:00Z", "ada")
    db = ws._platform.db
    for entry in (first, first._replace(run_id="r2")):  # as two runs finishing at once
        with db.write() as conn:
            store.put(conn, entry)
    with db.read() as conn:
        assert store.get(conn, "k" * 64) == first._replace(run_id="r2")
        assert store.get(conn, "x" * 64) is None


def test_another_actors_pickles_are_never_read(
    ws: Workspace, write_module: Callable[..., Path]
) -> None:
    from shipyard import config
    from shipyard.platform import open_platform

    write_module(
        "flow_actors",
        """
        import shipyard as sy

        @sy.step
        def plain() -> int:
            return 7

        @sy.step
        def pickled(k: int) -> tuple:
            return (k, k)

        @sy.pipeline
        def mixed():
            pickled(plain())
        """,
    )
    module = importlib.import_module("flow_actors")
    ws.pipelines.run(module.mixed)
    assert set(statuses(ws.pipelines.run(module.mixed)).values()) == {"cached"}
    other = open_platform(config.resolve(ws.home), actor="someone-else")
    try:
        theirs = other.pipelines.run(module.mixed)
    finally:
        other.close()
    assert statuses(theirs) == {"plain": "cached", "pickled": "succeeded"}


def test_an_output_that_cannot_be_stored_fails_its_step(
    ws: Workspace, write_module: Callable[..., Path]
) -> None:
    write_module(
        "flow_unstorable",
        """
        import threading
        import shipyard as sy

        @sy.step
        def lock():
            return threading.Lock()

        @sy.step
        def use(value) -> int:
            return 1

        @sy.pipeline
        def locked():
            use(lock())
        """,
    )
    module = importlib.import_module("flow_unstorable")
    result = ws.pipelines.run(module.locked)
    assert result.status == "failed"
    assert statuses(result) == {"lock": "failed", "use": "skipped"}
    assert "its output cannot be stored: TypeError" in str(result.error)


def test_a_pipeline_file_never_replaces_a_loaded_module(tmp_path: Path) -> None:
    import json
    import sys

    path = tmp_path / "json.py"
    path.write_text(
        "import shipyard as sy\n\n@sy.step\ndef one() -> int:\n    return 1\n\n"
        "@sy.pipeline\ndef flow():\n    one()\n"
    )
    found = load_pipeline(f"{path}:flow")
    assert found.name == "flow"
    assert sys.modules["json"] is json
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('no')\n")
    with pytest.raises(ValidationError, match="RuntimeError: no"):
        load_pipeline(f"{broken}:flow")
    assert "broken" not in sys.modules


def test_a_step_logs_to_the_pipelines_run(ws: Workspace, write_module: Callable[..., Path]) -> None:
    write_module(
        "flow_logging",
        """
        import shipyard as sy
        from shipyard.tracking.active import current_run

        @sy.step
        def measured() -> float:
            current_run().log_metric("quality", 0.93)
            return 0.93

        @sy.pipeline
        def logged():
            measured()
        """,
    )
    module = importlib.import_module("flow_logging")
    result = ws.pipelines.run(module.logged)
    assert ws.runs.get(result.run_id).metrics["quality"] == 0.93
