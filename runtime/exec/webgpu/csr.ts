// A mini-batch's CSR index built on the device from its id column, so a step uploads the ids only:
// one workgroup sorts the (id, position) pairs (a bitonic sort in workgroup memory: id·n + t as one
// u32, so equal ids keep their order, as buildCsr's counting sort does), writing the permutation and
// the sorted ids; then one thread per id value finds its segment's start by binary search. The
// result is buildCsr's offsets and perm, bit for bit. Columns of at most CSR_ON_DEVICE_MAX ids (what
// the workgroup holds: 16 KiB, WebGPU's guaranteed minimum); longer ones are built on the host.
//   sort: a[t] = id[t]·n + t, ascending;  perm[r] = a[r] mod n;  sorted[r] = a[r] div n
//   offsets[k] = #{r : sorted[r] < k}  (k = 0 … domain)

/** The longest id column sorted in one workgroup. */
export const CSR_ON_DEVICE_MAX = 4096;
const THREADS = 256;

/** Whether a column of `n` ids over `domain` values is built on the device. */
export function csrOnDevice(n: number, domain: number): boolean {
  return n >= 1 && n <= CSR_ON_DEVICE_MAX && domain * n < 2 ** 32;
}

/** Sorts ids[0..n): bindings ids, perm (n), sorted (n). */
export function csrSortSource(n: number): string {
  let size = 1;
  while (size < n) size *= 2;
  return [
    '@group(0) @binding(0) var<storage, read> ids : array<f32>;',
    '@group(0) @binding(1) var<storage, read_write> perm : array<f32>;',
    '@group(0) @binding(2) var<storage, read_write> sorted : array<f32>;',
    `var<workgroup> a : array<u32, ${size}>;`,
    `@compute @workgroup_size(${THREADS})`,
    'fn main(@builtin(local_invocation_index) t : u32) {',
    `  for (var i : u32 = t; i < ${size}u; i = i + ${THREADS}u) {`,
    `    a[i] = select(0xffffffffu, u32(ids[min(i, ${n - 1}u)]) * ${n}u + i, i < ${n}u);`,
    '  }',
    '  workgroupBarrier();',
    `  for (var k : u32 = 2u; k <= ${size}u; k = k * 2u) {`,
    '    for (var j : u32 = k / 2u; j > 0u; j = j / 2u) {',
    `      for (var i : u32 = t; i < ${size}u; i = i + ${THREADS}u) {`,
    '        let l = i ^ j;',
    '        if (l > i) {',
    '          let x = a[i];',
    '          let y = a[l];',
    '          if ((x > y) == ((i & k) == 0u)) {',
    '            a[i] = y;',
    '            a[l] = x;',
    '          }',
    '        }',
    '      }',
    '      workgroupBarrier();',
    '    }',
    '  }',
    `  for (var i : u32 = t; i < ${n}u; i = i + ${THREADS}u) {`,
    `    perm[i] = f32(a[i] % ${n}u);`,
    `    sorted[i] = f32(a[i] / ${n}u);`,
    '  }',
    '}',
  ].join('\n');
}

/** offsets[0..domain]: bindings sorted (n), offsets (domain + 1); one thread per offset. */
export function csrOffsetsSource(n: number, domain: number): string {
  return [
    '@group(0) @binding(0) var<storage, read> sorted : array<f32>;',
    '@group(0) @binding(1) var<storage, read_write> offsets : array<f32>;',
    '@compute @workgroup_size(64)',
    'fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nw : vec3<u32>) {',
    '  let k : u32 = gid.x + gid.y * nw.x * 64u;',
    `  if (k > ${domain}u) { return; }`,
    '  var lo : u32 = 0u;',
    `  var hi : u32 = ${n}u;`,
    '  loop {',
    '    if (lo >= hi) { break; }',
    '    let mid = (lo + hi) / 2u;',
    '    if (u32(sorted[mid]) < k) { lo = mid + 1u; } else { hi = mid; }',
    '  }',
    '  offsets[k] = f32(lo);',
    '}',
  ].join('\n');
}
