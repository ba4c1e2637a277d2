"""`tfnvp train --distribute multi-worker`: two worker processes on 127.0.0.1 (TF_CONFIG, free
ports), always cleaned up. They train like one process with the same global batch; only the
chief writes the run folder; when a worker is killed the other stops within a bounded time with
one line (exit 75), and restarting both with `--auto-resume` completes the run with every epoch.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from tfnvp_training.cli import main

TINY = ["--coupling-layers", "2", "--hidden-units", "8", "--batch-size", "100", "--quiet",
        "--eval-draws", "1", "--seed", "1"]
STOP_WITHIN = 150  # seconds: TensorFlow's collective health check is ~30 s x 3 retries at worst


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class Cluster:
    """Two `tfnvp train` worker processes sharing one TF_CONFIG cluster."""

    def __init__(self, tmp_path, argv):
        ports = _free_ports(2)
        workers = [f"127.0.0.1:{p}" for p in ports]
        self.tmpdir = tmp_path / "worker-tmp"
        self.tmpdir.mkdir(exist_ok=True)
        self.logs, self.processes = [], []
        for index in range(2):
            config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
            env = {**os.environ, "TF_CONFIG": json.dumps(config), "TMPDIR": str(self.tmpdir),
                   "TF_CPP_MIN_LOG_LEVEL": "3"}
            log = open(tmp_path / f"worker{index}-{len(list(tmp_path.glob('worker*')))}.log",
                       "w+")
            self.logs.append(log)
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "tfnvp_training.cli", "train", "--distribute",
                 "multi-worker", *argv], stdout=log, stderr=subprocess.STDOUT, env=env,
                cwd=tmp_path))

    def wait(self, index, timeout):
        return self.processes[index].wait(timeout=timeout)

    def output(self, index):
        self.logs[index].flush()
        self.logs[index].seek(0)
        return self.logs[index].read()

    def close(self):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for log in self.logs:
            log.close()


@pytest.fixture
def cluster(tmp_path):
    clusters = []

    def start(argv):
        clusters.append(Cluster(tmp_path, argv))
        return clusters[-1]

    yield start
    for c in clusters:
        c.close()


@pytest.fixture
def points(tmp_path):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal([-1.0, 0.0], 0.3, (500, 2)),
                        rng.normal([1.0, 0.5], 0.2, (500, 2))])
    np.save(tmp_path / "points.npy", x.astype(np.float32))
    return str(tmp_path / "points.npy")


def _test_nll(output):
    line = next(line for line in output.splitlines() if line.startswith("test "))
    return float(line.split()[1])


@pytest.mark.slow
def test_two_workers_train_like_one_process_and_only_the_chief_writes(tmp_path, points,
                                                                      cluster, capsys,
                                                                      monkeypatch):
    argv = ["--data", points, "--epochs", "3", *TINY]
    assert main(["train", "--out", str(tmp_path / "single"), "--distribute", "off", *argv]) == 0
    single = _test_nll(capsys.readouterr().out)

    workers = cluster(["--out", "run", *argv])
    assert workers.wait(0, timeout=600) == 0, workers.output(0)[-3000:]
    assert workers.wait(1, timeout=60) == 0, workers.output(1)[-3000:]
    np.testing.assert_allclose(_test_nll(workers.output(0)), single, atol=2e-4)  # 4 places
    assert "worker done; the chief wrote the run folder" in workers.output(1)
    rows = (tmp_path / "run" / "metrics.csv").read_text().strip().splitlines()
    assert len(rows) == 4  # header + 3 epochs, written once
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == [
        "best", "latest"]
    assert list(workers.tmpdir.iterdir()) == []  # the other worker's checkpoints are gone
    # a distributed run folder is like any other: evaluate it from another directory
    capsys.readouterr()
    monkeypatch.chdir(tmp_path / "single")
    assert main(["evaluate", "--model", str(tmp_path / "run")]) == 0
    np.testing.assert_allclose(json.loads(capsys.readouterr().out)["nll"],
                               _test_nll(workers.output(0)), atol=1e-4)  # printed to 4 places


@pytest.mark.slow
def test_a_killed_worker_stops_the_other_and_a_restart_completes_every_epoch(tmp_path, points,
                                                                            cluster):
    argv = ["--out", "run", "--data", points, "--epochs", "6", "--auto-resume", *TINY]
    workers = cluster(argv)
    latest = tmp_path / "run" / "checkpoints" / "latest" / "ckpt.index"
    deadline = time.monotonic() + 600
    while not latest.exists():  # an epoch is saved
        assert time.monotonic() < deadline and workers.processes[0].poll() is None, \
            workers.output(0)[-3000:]
        time.sleep(0.5)
    workers.processes[1].send_signal(signal.SIGKILL)
    killed = time.monotonic()
    status = workers.wait(0, timeout=STOP_WITHIN + 60)
    assert time.monotonic() - killed < STOP_WITHIN
    assert status == 75, workers.output(0)[-3000:]
    ours = [line for line in workers.output(0).splitlines() if line.startswith("tfnvp train:")]
    assert len(ours) == 1 and "lost the cluster" in ours[0] and "--auto-resume" in ours[0]

    restarted = cluster(argv)  # every worker again, the same command
    assert restarted.wait(0, timeout=600) == 0, restarted.output(0)[-3000:]
    assert restarted.wait(1, timeout=60) == 0, restarted.output(1)[-3000:]
    assert "resuming" in restarted.output(0)
    rows = (tmp_path / "run" / "metrics.csv").read_text().strip().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == [str(e) for e in range(6)]
