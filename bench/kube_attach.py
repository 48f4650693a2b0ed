#!/usr/bin/env python3
"""Kubernetes attach benchmark: `borescope attach svc/NAME` to a ready session, on a real
single-node cluster (scripts/kube-cluster), median of N runs (goal <= 1.5 s), with `pods` and
`exec pod/...` latency alongside.

The peer is debugwand, which needs kubectl and an image with tar, ps and debugpy (this
machine has no kubectl, and the test image has none of them by design), so it cannot run
here; its floor is taken from its source: it copies two files with `kubectl cp`, runs the
attacher with `kubectl exec`, then sleeps a fixed 2 s before port-forwarding (and 2 s more
before checking the forward). The ratio printed is against that fixed 2 s alone, which is
less than debugwand ever takes.

Usage: bench/kube_attach.py [--runs N]   (BORESCOPE: the binary, default target/{release,debug};
BORESCOPE_BENCH_KUBECONFIG: an existing cluster's kubeconfig, else one is started and torn
down). Needs scripts/test-setup.sh to have run (cluster binaries and images).
"""

import argparse
import glob
import json
import os
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench import binary  # noqa: E402

DEBUGWAND_FIXED_SLEEP = 2.0
NAMESPACE = "bench"


class Api:
    """Just enough of the Kubernetes API to set up the workload (token auth, loopback)."""

    def __init__(self, kubeconfig):
        server = token = None
        for line in open(kubeconfig):
            line = line.strip()
            if line.startswith("server:"):
                server = line.split(None, 1)[1]
            elif line.startswith("token:"):
                token = line.split(None, 1)[1]
        self.server, self.token = server, token
        self.context = ssl._create_unverified_context()  # a throwaway cluster on 127.0.0.1

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.server + path, data=data, method=method)
        request.add_header("Authorization", "Bearer " + self.token)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, context=self.context) as answer:
            return json.load(answer)


def workload(api):
    api.call("POST", "/api/v1/namespaces", {"metadata": {"name": NAMESPACE}})
    container = {
        "name": "app", "image": "localhost/borescope-py:1", "imagePullPolicy": "Never",
        "command": ["python3", "/app/web.py", "8080"], "workingDir": "/app",
        "readinessProbe": {"httpGet": {"path": "/health", "port": 8080}, "periodSeconds": 1},
    }
    api.call("POST", "/apis/apps/v1/namespaces/%s/deployments" % NAMESPACE, {
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"automountServiceAccountToken": False, "containers": [container]}}},
    })
    api.call("POST", "/api/v1/namespaces/%s/services" % NAMESPACE, {
        "metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 8080}]},
    })
    deadline = time.time() + 120
    while time.time() < deadline:
        pods = api.call("GET", "/api/v1/namespaces/%s/pods?labelSelector=app%%3Dweb" % NAMESPACE)["items"]
        ready = [p["metadata"]["name"] for p in pods if any(
            c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))]
        if ready:
            return ready[0]
        time.sleep(0.2)
    sys.exit("the benchmark pod never became ready")


def run(argv, env, expect=0):
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != expect:
        sys.exit("failed (%d): %s\n%s" % (done.returncode, " ".join(argv), done.stderr.decode()))
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bs = binary()
    state = None
    kubeconfig = os.environ.get("BORESCOPE_BENCH_KUBECONFIG")
    if not kubeconfig:
        subprocess.run([os.path.join(ROOT, "scripts/kube-cluster"), "setup"], check=True)
        state = tempfile.mkdtemp(prefix="bs-bench-kube-")
        subprocess.run([os.path.join(ROOT, "scripts/kube-cluster"), "up", state, "--watch-pid", str(os.getpid())],
                       check=True, stdout=subprocess.DEVNULL)
        kubeconfig = os.path.join(state, "kubeconfig")
    runtime = tempfile.mkdtemp(prefix="bs-bench-rt-")
    env = dict(os.environ, KUBECONFIG=kubeconfig, XDG_RUNTIME_DIR=runtime)
    try:
        pod = workload(Api(kubeconfig))
        ns = ["-n", NAMESPACE]
        cold = run([bs, "attach", "svc/web"] + ns, env)  # starts the daemon, provisions debugpy
        run([bs, "stop"], env)
        attach, detach, pods, execs = [], [], [], []
        for _ in range(args.runs):
            attach.append(run([bs, "attach", "svc/web"] + ns, env))
            detach.append(run([bs, "stop"], env))
            pods.append(run([bs, "pods", "-s", "web", "--interval", "0.1"] + ns, env))
            execs.append(run([bs, "exec", "pod/" + pod, "-c", "print(1)"] + ns, env))
        median = statistics.median(attach)
        print("Kubernetes attach (1.20 single-node cluster on this machine, median of %d)" % args.runs)
        print("  %-44s %8.3f s   (goal <= 1.5 s)" % ("attach svc/web -> ready session", median))
        print("  %-44s %8.3f s" % ("  first attach (daemon start, debugpy packed)", cold))
        print("  %-44s %8.3f s" % ("stop (detach, files removed)", statistics.median(detach)))
        print("  %-44s %8.3f s" % ("pods -s web (process list, 0.1 s CPU sample)", statistics.median(pods)))
        print("  %-44s %8.3f s" % ("exec pod/NAME -c 'print(1)'", statistics.median(execs)))
        print("  %-44s %8.3f s   (fixed sleep before its port-forward)" % ("debugwand floor", DEBUGWAND_FIXED_SLEEP))
        print("  ratio debugwand floor / borescope attach: %.1fx" % (DEBUGWAND_FIXED_SLEEP / median))
    finally:
        subprocess.run([bs, "stop"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for pid_file in glob.glob(os.path.join(runtime, "borescope", "build-*", "daemon.pid")):
            try:
                os.kill(int(open(pid_file).read().strip()), signal.SIGTERM)
            except (OSError, ValueError):
                pass
        if state:
            subprocess.run([os.path.join(ROOT, "scripts/kube-cluster"), "down", state], stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
