"""--llmeval-mlflow against a real MLflow tracking server on loopback (`make test-mlflow`, in .venv-mlflow).

Collected only where the full mlflow (its server) is installed: the main venv has mlflow-skinny, which logs to
local stores (tests/ops/test_mlflow.py).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from llmeval.config import Settings
from llmeval.ops.export import export_run
from tests._servers import free_port, stop, wait_healthy
from tests.ops.helpers import run

if importlib.util.find_spec("flask") is None or importlib.util.find_spec("mlflow") is None:
    pytest.skip("the MLflow server is not installed here: `make test-mlflow`", allow_module_level=True)

pytestmark = pytest.mark.mlflow
START_TIMEOUT_S = 180.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow-server")
    port, log = free_port(), folder / "server.log"
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{folder / 'mlflow.db'}",
        "--artifacts-destination",
        str(folder / "artifacts"),
    ]
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        problem = wait_healthy(process, url, log, name="mlflow server", timeout_s=START_TIMEOUT_S)
        assert problem is None, problem
        yield url, folder
    finally:
        stop(process)


def test_a_run_is_logged_to_the_server_and_read_back_through_it(server, tmp_path):
    import mlflow

    url, folder = server
    cases, gates, verdict, manifest = run("r-server", 0.3)
    report = tmp_path / "report.html"
    report.write_text("<html>report</html>")
    [(kind, shown)] = export_run(Settings(mlflow=url), tmp_path, cases, gates, verdict, manifest, [("html", report)])
    assert str(shown) == url.removeprefix("http://")
    client = mlflow.MlflowClient(url)
    logged = client.get_run(kind.removeprefix("MLflow run "))
    assert logged.info.status == "FAILED" and logged.data.tags["llmeval.verdict"] == "FAIL"
    assert logged.data.metrics["gate/qa/m/rougeL-mean/passed"] == 0
    assert logged.data.params["suite.qa.path"] == "qa.yaml"
    assert {a.path for a in client.list_artifacts(logged.info.run_id)} == {"html", "manifest.json"}
    assert any(p.name == "report.html" for p in (folder / "artifacts").rglob("*"))  # stored by the server, not here
