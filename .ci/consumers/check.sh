#!/usr/bin/env bash
# The llamafactory and verl exports read by the frameworks' own code (issue: trainers' exports), in a throwaway
# virtual environment: LLaMA-Factory and verl pin other transformers versions than the project's.
#   check.sh               both phases in a throwaway folder
#   check.sh install DIR   only the frameworks' environment in DIR (needs no project environment: .ci/run runs it
#                          beside `make install-test`)
#   check.sh read DIR      only the exports, made by the project's .venv and read in DIR's environment
set -euo pipefail
cd "$(dirname "$0")/../.."
phase=${1:-all}
if [[ $phase == all ]]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
else
  work=${2:?"usage: check.sh [install|read DIR]"}
fi

install() {
  python3 -m venv "$work/venv"
  # The CPU torch the project pins, then the trainers at the versions the exports were checked against.
  "$work/venv/bin/pip" install -q "torch==2.13.0" "llamafactory==0.9.5" "verl==0.9.1"
  # torchvision and torchaudio wheels are built for another torch than this CPU one: torchvision breaks
  # transformers' imports, torchaudio fails to load. LLaMA-Factory imports torchaudio at start-up (for audio
  # data, which text SFT never touches), so an empty stand-in takes its place.
  "$work/venv/bin/pip" uninstall -q -y torchvision torchaudio || true
  mkdir -p "$work/stubs/torchaudio"
  echo '"""Empty stand-in: no torchaudio is built for this CPU torch; text SFT never calls it."""' \
    > "$work/stubs/torchaudio/__init__.py"
}

read_exports() {
  .venv/bin/python .ci/consumers/make_exports.py "$work"
  PYTHONPATH="$work/stubs" "$work/venv/bin/python" .ci/consumers/read_exports.py "$work"
}

case $phase in
  all) install; read_exports ;;
  install) install ;;
  read) read_exports ;;
  *) echo "check.sh: unknown phase $phase (install, read, or none for both)" >&2; exit 2 ;;
esac
