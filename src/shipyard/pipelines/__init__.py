"""Pipelines: steps are plain functions; calling them inside a pipeline function builds
the graph; outputs pass between steps as stored, content-addressed artifacts.

```python
import shipyard as sy

@sy.step
def load(ref: str) -> pd.DataFrame:
    return sy.connect().data.load(ref)

@sy.step(retries=2)
def train(df: pd.DataFrame, C: float) -> LogisticRegression: ...

@sy.pipeline
def credit_training(ref: str = "credit@latest", C: float = 1.0):
    train(load(ref), C)
```

``shipyard pipeline run mymod:credit_training -p C=0.5`` runs it; a step whose code,
inputs' digests and parameters are unchanged reuses its cached output.

- :mod:`shipyard.pipelines.graph` steps, pipelines and the graph they trace;
- :mod:`shipyard.pipelines.keys` the cache key of a step call;
- :mod:`shipyard.pipelines.codec` how outputs are stored;
- :mod:`shipyard.pipelines.executors` local and Dask execution, with retries;
- :mod:`shipyard.pipelines.runner` a run, wave by wave, tracked;
- :mod:`shipyard.pipelines.service` ``ws.pipelines``.
"""

from shipyard.pipelines.graph import Pipeline, Step, pipeline, step

__all__ = ["Pipeline", "Step", "pipeline", "step"]
