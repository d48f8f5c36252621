#!/usr/bin/env bash
# Install what building and testing rubricate needs on a fresh Debian/Ubuntu machine:
# cmake and libclang (llama.cpp's build), tmux (end-to-end tests), and the default model.
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v cmake >/dev/null || need+=(cmake)
command -v clang >/dev/null || need+=(clang)
ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || ls /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1 || need+=(libclang-dev)
command -v tmux >/dev/null || need+=(tmux)
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v python3 >/dev/null || need+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The export tests load every export format with Hugging Face `datasets` (pinned; it brings
# pyarrow and pandas, no torch) in a virtual environment outside the clone.
py_env="${XDG_CACHE_HOME:-$HOME/.cache}/rubricate/py"
if ! "$py_env/bin/python" -c 'import datasets' >/dev/null 2>&1; then
    echo "installing datasets for the export tests into $py_env"
    python3 -m venv "$py_env"
    "$py_env/bin/pip" install -q --disable-pip-version-check "datasets==4.4.1"
fi

command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup (https://rustup.rs)" >&2; exit 1; }
scripts/fetch-model.sh
# llama.cpp's own server, for the OpenAI-compatible backend tests (cached outside the clone).
scripts/build-llama-server.sh
