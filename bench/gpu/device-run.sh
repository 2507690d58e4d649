#!/usr/bin/env bash
# bench/gpu/device-run.sh [DIR]: on a Linux x86-64 machine with a Vulkan driver and no Node, runs what
# bench/gpu/device-pack.sh packed into DIR (default: this script's folder): unpacks node.xz and
# recc.tar.xz under /tmp/recc-device, checks the adapter (scripts/gpu-check.mjs), then runs the WebGPU
# kernel tests (test/webgpu/*), the training bench (bench/gpu/train.ts) and the ALS one (bench/gpu/als.ts), each skipped with a message
# when this checkout has none. Needs only xz, tar and a Vulkan loader (libvulkan.so.1); NVIDIA's ICD is
# found through VK_DRIVER_FILES when set, else the loader's default search. Exit status: the first
# failure's (gpu-check: 3 no webgpu, 4 no adapter, 5 wrong result), else 0.
#   RECC_DEVICE_STEPS=4 (bench steps), RECC_DEVICE_SHAPES=ml100k,ml1m, RECC_DEVICE_EXAMPLES=1 (also the examples table)
set -uo pipefail
dir="$(cd "${1:-$(dirname "$0")}" && pwd)"
base=/tmp/recc-device
rm -rf "$base" && mkdir -p "$base/bin" "$base/recc"
xz -dc "$dir/node.xz" >"$base/bin/node" && chmod +x "$base/bin/node" || { echo "device-run: cannot unpack node.xz"; exit 1; }
xz -dc "$dir/recc.tar.xz" | tar -x -C "$base/recc" || { echo "device-run: cannot unpack recc.tar.xz"; exit 1; }
export PATH="$base/bin:$PATH"
cd "$base/recc"
echo "device-run: node $(node --version) on $(uname -m); $(ldconfig -p 2>/dev/null | grep -c 'libvulkan.so') libvulkan entries in ldconfig"
status=0
node scripts/gpu-check.mjs || status=$?
[ "$status" -eq 0 ] || { echo "device-run: WebGPU is not usable here (exit $status); the tests and the bench would only skip"; exit "$status"; }
if ls test/webgpu/*.test.ts >/dev/null 2>&1; then
  node node_modules/vitest/vitest.mjs run --project fast test/webgpu || status=$?
else
  echo "device-run: no test/webgpu/*.test.ts in this checkout; the kernel tests are skipped"
fi
if [ -f bench/gpu/train.ts ]; then
  node node_modules/tsx/dist/cli.mjs bench/gpu/train.ts --steps "${RECC_DEVICE_STEPS:-4}" --shapes "${RECC_DEVICE_SHAPES:-ml100k,ml1m}" || { s=$?; [ "$status" -ne 0 ] || status=$s; }
else
  echo "device-run: no bench/gpu/train.ts in this checkout; the training bench is skipped"
fi
# ALS sweeps with the row solves on the host (as before) and on the device (bench/gpu/als.ts)
if [ -f bench/gpu/als.ts ]; then
  node node_modules/tsx/dist/cli.mjs bench/gpu/als.ts --sweeps 5 || { s=$?; [ "$status" -ne 0 ] || status=$s; }
fi
# every example from the CLI on webgpu vs js (bench/gpu/examples.ts; minutes: only when asked)
if [ -n "${RECC_DEVICE_EXAMPLES:-}" ] && [ -f bench/gpu/examples.ts ]; then
  node node_modules/tsx/dist/cli.mjs bench/gpu/examples.ts || { s=$?; [ "$status" -ne 0 ] || status=$s; }
fi
exit "$status"
