"""lifecycle.versioning (lesson 08's plumbing) and the service's traffic split."""
from __future__ import annotations

import json
import os

import matplotlib
import numpy as np
import pandas as pd
import pytest

from lifecycle import versioning as vs
from lifecycle.deploy import build_bundle
from lifecycle.deploy.cli import main

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def bundles():
    X_train, X_test, y_train, y_test = vs.penguins_split(seed=0)
    made = {}
    for name, params in (("good", {"C": 1.0, "max_iter": 1000}), ("bad", {"C": 0.001, "max_iter": 1000})):
        model = vs.train_penguins(X_train, y_train, params)
        made[name] = build_bundle(model, X_train, y_train, X_test, y_test, version=name)
    return made, X_test


def test_split_is_lesson_05s():
    from lifecycle.deploy import train_reference_bundle

    X_train, _, y_train, _ = vs.penguins_split(seed=0)
    metadata = train_reference_bundle(seed=0)["metadata"]
    assert metadata["training_data_sha256"] == vs.frame_sha256(X_train.assign(species=y_train))


def test_hashes_change_with_their_inputs():
    X, _, y, _ = vs.penguins_split()
    assert vs.frame_sha256(X, y) == vs.frame_sha256(X.copy(), y.copy())
    assert vs.frame_sha256(X, y) != vs.frame_sha256(X.iloc[::-1], y.iloc[::-1])
    assert vs.frame_sha256(X, y) != vs.frame_sha256(X)
    assert vs.text_sha256("a") != vs.text_sha256("a ")
    assert "def train_penguins" in vs.training_code()


@pytest.mark.parametrize("call, error, words", [
    (lambda: vs.frame_sha256([[1, 2]]), TypeError, "DataFrame"),
    (lambda: vs.frame_sha256(pd.DataFrame({"a": [1, 2]}), [1]), ValueError, "one label per row"),
    (lambda: vs.text_sha256(b"code"), TypeError, "str"),
    (lambda: vs.train_penguins(pd.DataFrame({"a": [1]}), ["x"], [("C", 1)]), TypeError, "dict"),
    (lambda: vs.accuracy_interval([1, 2], [1]), ValueError, "same length"),
    (lambda: vs.accuracy_interval([1], [1], level=1.0), ValueError, "level"),
    (lambda: vs.mlflow_client(3), TypeError, "folder"),
    (lambda: vs.read_prediction_log("/nonexistent/log.jsonl"), ValueError, "log_path"),
    (lambda: vs.send_traffic(None, "rows"), TypeError, "list of dicts"),
    (lambda: vs.rollout_app({"model": 1}), TypeError, "bundle"),
    (lambda: vs.plot_versions(pd.DataFrame({"estimate": [0.5]})), ValueError, "low"),
    (lambda: vs.plot_versions(pd.DataFrame({"estimate": [0.5], "low": [0.6], "high": [0.7]})),
     ValueError, "low <= estimate"),
    (lambda: vs.plot_canary(pd.DataFrame({"x": [0.1]})), ValueError, "disagreement"),
    (lambda: vs.plot_canary(pd.DataFrame({"disagreement": [0.1]}), label=3), TypeError, "label"),
])
def test_wrong_calls_say_what_to_pass(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_accuracy_interval_brackets_the_estimate():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    pred = np.where(rng.random(200) < 0.8, y, 1 - y)
    m = vs.accuracy_interval(y, pred, n_boot=300)
    assert m["low"] <= m["estimate"] <= m["high"]
    assert m["estimate"] == pytest.approx(np.mean(y == pred))


def test_shadow_logs_both_versions_and_serves_the_current(bundles, tmp_path):
    made, X_test = bundles
    log_path = tmp_path / "log.jsonl"
    app = vs.rollout_app(made["good"], made["bad"], canary=0.0, log_path=log_path)
    assert vs.send_traffic(app, X_test.head(12), batch_size=3) == ["good"] * 4
    log = vs.read_prediction_log(log_path)
    assert list(log.columns) == list(vs.LOG_COLUMNS)
    assert len(log) == 24 and set(log["model_version"]) == {"good", "bad"}
    assert log.loc[log["model_version"] == "good", "served"].all()
    assert not log.loc[log["model_version"] == "bad", "served"].any()
    health = app.test_client().get("/health").get_json()
    assert health["candidate"] == {"model_version": "bad", "canary": 0.0}


@pytest.mark.parametrize("share, expected", [(0.25, 2), (0.5, 4), (1.0, 8)])
def test_canary_share_is_exact(bundles, tmp_path, share, expected):
    made, X_test = bundles
    app = vs.rollout_app(made["good"], made["bad"], canary=share, log_path=tmp_path / "log.jsonl")
    answered = vs.send_traffic(app, X_test.head(8))
    assert answered.count("bad") == expected
    log = vs.read_prediction_log(tmp_path / "log.jsonl")
    served = log[log["served"]]
    assert len(served) == 8 and (served["model_version"] == "bad").sum() == expected


def test_split_keeps_the_contract_errors(bundles):
    made, _ = bundles
    client = vs.rollout_app(made["good"], made["bad"], canary=1.0).test_client()
    response = client.post("/predict", json={"instances": []})
    assert response.status_code == 400 and "error" in response.get_json()
    response = client.post("/predict", json={"instances": [{"bill_length_mm": 1e9}]})
    assert response.status_code == 422
    assert client.get("/metadata").get_json()["model_version"] == "good"


def test_a_failing_candidate_never_changes_the_answer(bundles, tmp_path):
    made, X_test = bundles
    broken = {"model": made["bad"]["model"], "metadata": json.loads(json.dumps(made["bad"]["metadata"]))}
    broken["metadata"]["domain"]["numeric"]["bill_length_mm"]["max"] = 0.0  # refuses every row
    app = vs.rollout_app(made["good"], broken, canary=1.0, log_path=tmp_path / "log.jsonl")
    assert vs.send_traffic(app, X_test.head(3)) == ["good"] * 3
    assert set(vs.read_prediction_log(tmp_path / "log.jsonl")["model_version"]) == {"good"}


def test_canary_outside_unit_interval_is_refused(bundles):
    made, _ = bundles
    with pytest.raises(ValueError, match="canary"):
        vs.rollout_app(made["good"], made["bad"], canary=1.5)
    with pytest.raises(ValueError, match="candidate"):
        vs.rollout_app(made["good"], canary=0.5)


def test_cli_refuses_a_canary_without_candidate(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["serve", "--model", "x", "--canary", "0.5"])
    assert stop.value.code == 2 and "--candidate" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", "--model", "x", "--candidate", "y", "--canary", "2"])


def test_mlflow_store_in_a_scratch_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("MLFLOW_DISABLE_TELEMETRY", raising=False)
    client, experiment_id = vs.mlflow_client(tmp_path / "store")
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true"  # nothing leaves the machine
    # The empty store is kept for the next one, which starts from a copy and works the same.
    assert list((tmp_path / "cache" / "lifecycle" / "mlflow").glob("empty-store-*.db"))
    second, second_id = vs.mlflow_client(tmp_path / "second")
    assert second.get_experiment(second_id).name == "penguins"
    assert [e.name for e in second.search_experiments()] == ["penguins", "Default"]
    again, same = vs.mlflow_client(tmp_path / "store")
    assert same == experiment_id
    assert (tmp_path / "store" / "mlflow.db").is_file()
    assert client.get_experiment(experiment_id).artifact_location.startswith("file://")


def test_mlflow_store_without_a_writable_cache(tmp_path, monkeypatch):
    # The grader's sandbox: a home nothing can be kept in. The tables are made in memory.
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    client, experiment_id = vs.mlflow_client(tmp_path / "store")
    client.create_registered_model("m")
    run = client.create_run(experiment_id)
    version = client.create_model_version("m", f"{run.info.artifact_uri}/bundle", run.info.run_id)
    client.set_registered_model_alias("m", "champion", version.version)
    assert client.get_model_version_by_alias("m", "champion").run_id == run.info.run_id
    assert [e.name for e in client.search_experiments()] == ["penguins", "Default"]
    assert blocked.read_text() == ""


def test_plots_label_their_axes(bundles):
    table = pd.DataFrame({"estimate": [0.9, 0.8], "low": [0.85, 0.7], "high": [0.95, 0.9]},
                         index=["v1", "v2"])
    ax = vs.plot_versions(table)
    assert ax.get_ylabel() == "accuracy" and [t.get_text() for t in ax.get_xticklabels()] == ["v1", "v2"]
    ax = vs.plot_canary(pd.DataFrame({"disagreement": [0.0, 0.3, 0.4]}), rollback_at=1, threshold=0.1)
    assert any("rolled back" in t.get_text() for t in ax.get_legend().get_texts())
    vs.plot_canary(pd.DataFrame({"disagreement": [0.02, 0.7]}), label="another candidate", color="C2", ax=ax)
    assert "another candidate" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] >= 0.7  # the second line is in view


def test_serve_with_a_candidate_through_the_command_line(bundles, tmp_path):
    """``serve --candidate PATH --canary 1`` (gunicorn alone): the candidate answers, both log."""
    import requests

    from lifecycle.deploy import save_bundle
    from lifecycle.deploy.serving import running_service

    made, X_test = bundles
    current, candidate = save_bundle(made["good"], tmp_path / "good"), save_bundle(made["bad"], tmp_path / "bad")
    rows = json.loads(X_test.head(2).to_json(orient="records"))
    with running_service(current, candidate=candidate, canary=1.0, proxy=False, workers=1,
                         threads=1, log_path=tmp_path / "log.jsonl") as service:
        assert requests.get(service.url + "/health", timeout=10).json()["candidate"] == {
            "model_version": "bad", "canary": 1.0}
        answer = requests.post(service.url + "/predict", json={"instances": rows}, timeout=10)
        assert answer.status_code == 200 and answer.json()["model_version"] == "bad"
    log = vs.read_prediction_log(tmp_path / "log.jsonl")
    assert sorted(zip(log["model_version"], log["served"], strict=True)) == [
        ("bad", True), ("bad", True), ("good", False), ("good", False)]
