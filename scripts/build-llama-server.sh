#!/usr/bin/env bash
# Build llama.cpp's own `llama-server` (and `llama-batched-bench`, the batching ceiling used in
# docs/benchmarks.md) for the OpenAI-compatible backend tests.
#
# The llama-cpp-sys-2 crate rubricate links ships no server sources; the llama-cpp-python sdist
# on PyPI vendors a whole llama.cpp including tools/server. The sdist version is pinned and its
# SHA-256 checked. The binaries are cached outside the clone and reused:
#   ${XDG_CACHE_HOME:-~/.cache}/rubricate/llama-server-<version>/bin/llama-server
# Prints that path on its last line. Honours CMAKE_BUILD_PARALLEL_LEVEL.
#
# ggml versions: llama-cpp-python 0.3.36 vendors ggml 0.25.3; llama-cpp-sys-2 0.1.161
# (linked by rubricate) carries ggml 0.26.0. Both read the same GGUF files.
set -euo pipefail

VERSION="0.3.36"
SHA256="832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
cache_home="${XDG_CACHE_HOME:-$HOME/.cache}"
dest="$cache_home/rubricate/llama-server-$VERSION"
targets=(llama-server llama-batched-bench)

have_all() {
    for t in "${targets[@]}"; do [ -x "$dest/bin/$t" ] || return 1; done
}

if have_all; then
    echo "llama-server present: $dest/bin/llama-server"
    exit 0
fi

command -v python3 >/dev/null || { echo "python3 with pip is needed to fetch the llama.cpp sources" >&2; exit 1; }
command -v cmake >/dev/null || { echo "cmake is needed (scripts/setup.sh installs it)" >&2; exit 1; }

mkdir -p "$cache_home/rubricate"
work="$(mktemp -d "$cache_home/rubricate/llama-server-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "fetching llama-cpp-python==$VERSION (sdist) from PyPI ..."
# Only this package as source: its build backend's own dependencies may come as wheels
# (`--no-binary :all:` would compile cmake and ninja from source just to read metadata).
python3 -m pip download --quiet --no-deps --no-binary llama-cpp-python \
    --dest "$work" "llama-cpp-python==$VERSION"
sdist="$work/llama_cpp_python-$VERSION.tar.gz"
[ -f "$sdist" ] || { echo "the download did not produce $sdist" >&2; exit 1; }
got="$(sha256sum "$sdist" | cut -d' ' -f1)"
if [ "$got" != "$SHA256" ]; then
    echo "SHA-256 mismatch for $sdist: got $got, expected $SHA256" >&2
    exit 1
fi
tar -xzf "$sdist" -C "$work"
src="$work/llama_cpp_python-$VERSION/vendor/llama.cpp"
[ -f "$src/tools/server/server.cpp" ] || [ -d "$src/tools/server" ] || { echo "no tools/server in $src" >&2; exit 1; }

echo "building ${targets[*]} (CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-default}) ..."
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
    -DGGML_NATIVE=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON \
    >"$work/cmake.log" 2>&1 || { tail -30 "$work/cmake.log" >&2; exit 1; }
cmake --build "$work/build" --config Release --target "${targets[@]}" \
    >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; exit 1; }

# Install atomically: a half-copied cache must never look complete.
stage="$dest.partial.$$"
rm -rf "$stage"
mkdir -p "$stage/bin"
for t in "${targets[@]}"; do cp "$work/build/bin/$t" "$stage/bin/"; done
printf 'llama-cpp-python %s\nsha256 %s\n' "$VERSION" "$SHA256" >"$stage/SOURCE"
rm -rf "$dest"
mv "$stage" "$dest"
echo "llama-server installed: $dest/bin/llama-server"
