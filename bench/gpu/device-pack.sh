#!/usr/bin/env bash
# bench/gpu/device-pack.sh [OUT]: one upload for a Linux x86-64 machine with a GPU and its Vulkan driver but
# no Node (the device machines this project borrows): OUT/node.xz (this machine's Node binary,
# xz-compressed), OUT/recc.tar.xz (the repository's tracked files, the built dist/, and node_modules with
# webgpu@0.6.2 reduced to its linux-x64 dawn.node, without typescript, native sources and other
# platforms' binaries) and OUT/device-run.sh, which unpacks both under /tmp and runs the WebGPU tests and
# the training bench (bench/gpu/device-run.sh). OUT defaults to .device/ in the repository root, kept out
# of git through .git/info/exclude so the device tool can carry it. Refuses an upload over 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-.device}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
if [ "$out" = "$PWD/.device" ]; then
  exclude="$(git rev-parse --git-path info/exclude)"
  grep -qx '/.device/' "$exclude" 2>/dev/null || echo '/.device/' >>"$exclude"
fi
rm -rf "$out" && mkdir -p "$out"
node scripts/build-dist.mjs >&2
[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || npm run gpu:install >&2
node_bin="$(readlink -f "$(command -v node)")"
echo "device-pack: $node_bin ($(node --version)) → node.xz" >&2
xz -T0 -6 -c "$node_bin" >"$out/node.xz"
# the tracked files (sources, tests, benches, examples, std) + dist/ + node_modules, trimmed
# (GNU tar applies an --exclude only to the names after it, so they come before -T)
tar -c \
  --exclude='node_modules/typescript' --exclude='node_modules/@types' --exclude='node_modules/.cache' \
  --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' --exclude='node_modules/webgpu/dist/linux-arm64' \
  --exclude='node_modules/better-sqlite3/deps' --exclude='node_modules/better-sqlite3/src' --exclude='node_modules/better-sqlite3/build/Release/obj*' \
  --exclude='node_modules/better-sqlite3/build/Release/.deps' --exclude='*darwin*' --exclude='*win32*' --exclude='*-arm64*' --exclude='*.map' \
  -T <(git ls-files; echo dist; echo node_modules) \
  | xz -T0 -6 >"$out/recc.tar.xz"
cp bench/gpu/device-run.sh "$out/device-run.sh"
bytes="$(du -cb "$out"/* | tail -1 | cut -f1)"
echo "device-pack: $out: $(du -h "$out/node.xz" | cut -f1) node.xz, $(du -h "$out/recc.tar.xz" | cut -f1) recc.tar.xz, $((bytes / 1048576)) MiB in all (limit 64 MiB)" >&2
[ "$bytes" -lt $((64 * 1048576)) ] || { echo "device-pack: the upload is over 64 MiB" >&2; exit 1; }
