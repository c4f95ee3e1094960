"""The worker scripts of ``registry_vs_mlflow.py``, as strings written to files at run time.

Each is ``WORKER_COMMON`` (from the tracking benchmark) plus ``TIMING`` plus one venv's jobs:
``shipyard_worker.py`` runs with shipyard's Python (the data, the bare skops model, the
shipyard registry, and the bare and shipyard predict timings), ``mlflow_worker.py`` with
MLflow's (its registry and its pyfunc predict timings). Every job prints one ``RESULT``
JSON line. Timings use ``time.perf_counter_ns`` and are returned in nanoseconds.
"""

from __future__ import annotations

from _tracking_scripts import WORKER_COMMON

TIMING = '''
import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression


def dataset():
    """The breast-cancer features (a DataFrame of 30 float columns) and labels."""
    data = load_breast_cancer(as_frame=True)
    return data.data, data.target


def train():
    """The benchmark's model, trained on the whole dataset."""
    features, labels = dataset()
    return LogisticRegression(max_iter=5000).fit(features, labels), features


def frames(job):
    """The frames to predict on, read from the parquet files both venvs share."""
    return {name: pd.read_parquet(path) for name, path in job["frames"].items()}


def time_blocks(calls, frame, warmup, repeat, block):
    """Time ``calls[label](frame)`` round-robin in blocks: nanoseconds per call, by label."""
    for call in calls.values():
        for _ in range(warmup):
            call(frame)
    samples = {label: [] for label in calls}
    done = 0
    while done < repeat:
        size = min(block, repeat - done)
        for label, call in calls.items():
            out = samples[label]
            for _ in range(size):
                started = time.perf_counter_ns()
                call(frame)
                out.append(time.perf_counter_ns() - started)
        done += size
    return samples


def predict_all(calls, job):
    """Every call timed on every frame, plus each call's predictions on every frame."""
    timings, predictions = {}, {}
    for name, frame in frames(job).items():
        timings[name] = time_blocks(calls, frame, job["warmup"], job["repeat"], job["block"])
        predictions[name] = {
            label: np.asarray(call(frame)).ravel().tolist() for label, call in calls.items()
        }
    return {"ns": timings, "predictions": predictions}
'''

SHIPYARD_JOBS = '''
import warnings

import skops.io


def load_bare(path):
    """The model as skops saved it (types trusted after listing them)."""
    return skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))


def data(job):
    """Sample the frames (rows drawn with replacement), train and dump the bare model."""
    features, labels = dataset()
    rng = np.random.default_rng(job["seed"])
    for name, path in job["frames"].items():
        rows = rng.integers(0, len(features), size=job["sizes"][name])
        features.iloc[rows].reset_index(drop=True).to_parquet(path)
    model = LogisticRegression(max_iter=5000).fit(features, labels)
    skops.io.dump(model, job["bare"])
    import sklearn

    return {
        "sklearn": sklearn.__version__,
        "skops": skops.__version__,
        "columns": len(features.columns),
        "train_accuracy": float(model.score(features, labels)),
    }


def missing_api():
    """Why the registry API cannot be used yet (None when it is all there)."""
    try:
        import shipyard.registry  # noqa: F401
        from shipyard.tracking.active import ActiveRun
        from shipyard.workspace import Workspace
    except ImportError as exc:
        return f"import failed: {exc}"
    for owner, name in ((ActiveRun, "log_model"), (Workspace, "models")):
        if not hasattr(owner, name):
            return f"{owner.__name__}.{name} is missing"
    return None


def shipyard_setup(job):
    """Log the bare model in a fresh workspace, register it and alias it champion."""
    reason = missing_api()
    if reason:
        return {"pending": reason}
    import shipyard as sy

    sy.init_workspace(job["home"])
    ws = sy.connect(job["home"])
    for name in ("promote", "load"):
        if not hasattr(ws.models, name):
            return {"pending": f"ws.models.{name} is missing"}
    model = load_bare(job["bare"])
    features, _ = dataset()
    with ws.start_run(experiment="bench") as run:
        mv = run.log_model(model, name=job["model"], example=features.head(5))
    ws.models.promote(job["model"], mv.version, alias=job["alias"])
    loaded = ws.models.load(f"{job['model']}@{job['alias']}")
    agree = bool((np.asarray(loaded.predict(features)) == model.predict(features)).all())
    return {"version": mv.version, "ref": str(mv.ref), "agree": agree}


def predict(job):
    """Bare (on the frame, and on its numpy array) and shipyard predict, round-robin."""
    bare = load_bare(job["bare"]).predict
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    calls = {"bare": bare, "bare_numpy": lambda frame: bare(frame.to_numpy())}
    if job["shipyard"]:
        import shipyard as sy

        loaded = sy.connect(job["home"]).models.load(job["ref"])
        calls["shipyard"] = loaded.predict
    return predict_all(calls, job)


if __name__ == "__main__":
    main({"data": data, "shipyard_setup": shipyard_setup, "predict": predict})
'''

MLFLOW_JOBS = '''
import mlflow
from mlflow import MlflowClient
from mlflow.models import infer_signature


def setup(job):
    """Log the model (sklearn flavor, example and signature), register it, alias it."""
    mlflow.set_tracking_uri(job["uri"])
    client = MlflowClient()
    experiment = client.create_experiment(job["experiment"], artifact_location=job["artifacts"])
    model, features = train()
    signature = infer_signature(features, model.predict(features))
    with mlflow.start_run(experiment_id=experiment):
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature,
            input_example=features.head(5),
            registered_model_name=job["model"],
        )
    version = info.registered_model_version
    client.set_registered_model_alias(job["model"], job["alias"], str(version))
    import sklearn

    return {
        "version": str(version),
        "model_uri": info.model_uri,
        "mlflow": mlflow.__version__,
        "sklearn": sklearn.__version__,
    }


def predict(job):
    """MLflow's pyfunc predict (and, for reference, its raw sklearn model) on every frame."""
    mlflow.set_tracking_uri(job["uri"])
    model = mlflow.pyfunc.load_model(job["ref"])
    calls = {"mlflow": model.predict, "mlflow_raw": model.get_raw_model().predict}
    return predict_all(calls, job)


if __name__ == "__main__":
    main({"setup": setup, "predict": predict})
'''

WORKERS = {
    "shipyard": WORKER_COMMON + TIMING + SHIPYARD_JOBS,
    "mlflow": WORKER_COMMON + TIMING + MLFLOW_JOBS,
}

LOADED = "LOADED"  # what a fresh-load command prints once its model is in memory


def load_code(side: str) -> str:
    """The ``python -c`` code of a fresh-process load; ``{...}`` fields are filled in later."""
    code = {
        "bare": "import skops.io; m = skops.io.load({path!r}, "
        "trusted=skops.io.get_untrusted_types(file={path!r}))",
        "shipyard": "import shipyard as sy; m = sy.connect({home!r}).models.load({ref!r})",
        "mlflow": "import mlflow; mlflow.set_tracking_uri({uri!r}); "
        "m = mlflow.pyfunc.load_model({mlflow_ref!r})",
    }[side]
    return code + f"; print({LOADED!r}, flush=True)"
