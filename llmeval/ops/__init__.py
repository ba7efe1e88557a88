"""Production exports of a finished run: history and trends, MLflow, Prometheus, the model card's evaluation part.

One entry point, ``llmeval.ops.export.export_run``, called by ``llmeval.reporting.outputs.write_outputs``.
Every optional dependency (mlflow, prometheus_client) loads only when its option is given.
"""
