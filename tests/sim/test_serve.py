"""Serve mode: a separate process (with API server workers) until SIGTERM."""

from __future__ import annotations

import base64
import json
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from sim import AKS_SERVER_APP_ID, generated_estate


def wait_for(path: Path, process: subprocess.Popen[bytes], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, "serve exited early"
        assert time.monotonic() < deadline, "serve did not write its environment in time"
        time.sleep(0.1)


def get(url: str, *, headers: dict[str, str], context: ssl.SSLContext | None = None) -> bytes:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback https only
    with urllib.request.urlopen(request, context=context, timeout=10) as response:  # noqa: S310
        data: bytes = response.read()
        return data


def test_serve_with_worker_processes(tmp_path: Path) -> None:
    """Three clusters over two workers: env file when ready, real answers, stats on SIGTERM."""
    env_file, stats_file = tmp_path / "env.json", tmp_path / "stats.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "serve",
            "--env-file",
            str(env_file),
            "--stats-file",
            str(stats_file),
            "--clusters",
            "3",
            "--nodes-per-cluster",
            "4",
            "--processes",
            "2",
            "--configz-latency-ms",
            "5",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(env_file, process)
        env = json.loads(env_file.read_text())
        token_url = (
            f"{env['IDENTITY_ENDPOINT']}?api-version=2019-08-01&resource={AKS_SERVER_APP_ID}"
            f"&client_id={env['AZURE_CLIENT_ID']}"
        )
        token = json.loads(get(token_url, headers={"X-IDENTITY-HEADER": env["IDENTITY_HEADER"]}))[
            "access_token"
        ]
        arm_token = json.loads(
            get(
                f"{env['IDENTITY_ENDPOINT']}?api-version=2019-08-01&resource={env['ARM_ENDPOINT']}",
                headers={"X-IDENTITY-HEADER": env["IDENTITY_HEADER"]},
            )
        )["access_token"]
        public = ssl.create_default_context(cafile=env["REQUESTS_CA_BUNDLE"])
        estate = generated_estate(3, 4)
        subscription, cluster = next(iter(estate.clusters()))
        base = (
            f"{env['ARM_ENDPOINT']}/subscriptions/{subscription.id}/resourceGroups/{cluster.resource_group}"
            f"/providers/Microsoft.ContainerService/managedClusters/{cluster.name}"
        )
        request = urllib.request.Request(  # noqa: S310 - loopback https only
            f"{base}/listClusterUserCredential?api-version=2026-08-01",
            method="POST",
            headers={"Authorization": f"Bearer {arm_token}"},
        )
        with urllib.request.urlopen(request, context=public, timeout=10) as response:  # noqa: S310
            kubeconfig = json.loads(response.read())["kubeconfigs"][0]["value"]
        document = yaml.safe_load(base64.b64decode(kubeconfig))
        server = document["clusters"][0]["cluster"]["server"]
        ca = base64.b64decode(
            document["clusters"][0]["cluster"]["certificate-authority-data"]
        ).decode()
        node = cluster.nodes()[0].name
        body = get(
            f"{server}/api/v1/nodes/{node}/proxy/configz",
            headers={"Authorization": f"Bearer {token}"},
            context=ssl.create_default_context(cadata=ca),
        )
        assert json.loads(body)["kubeletconfig"]["kind"] == "KubeletConfiguration"
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr.decode()
    stats = json.loads(stats_file.read_text())
    assert stats[f"configz|{cluster.name}|200"] == 1
    assert stats["token||200"] == 2
