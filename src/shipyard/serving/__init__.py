"""Serving: one registered model over HTTP (``shipyard serve REF``).

- :mod:`shipyard.serving.payload` request bodies to DataFrames, predictions to JSON;
- :mod:`shipyard.serving.app` the Starlette routes, limits and errors;
- :mod:`shipyard.serving.telemetry` the Prometheus metrics;
- :mod:`shipyard.serving.launch` loading the model and running uvicorn (workers too).
"""
