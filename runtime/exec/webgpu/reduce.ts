// The sum of a kernel's partial sums, on the device: one workgroup of REDUCE_THREADS threads, each
// adding a strided share of the n partials, then a tree over the workgroup; every addition is an
// error-free two-sum, so the result is a float32 pair (hi, lo) whose float64 sum hi + lo is the
// partials' sum to ~n·2⁻⁴⁸ relative (the compensation kept from the shader compiler's algebra by `keep`) — what the host's float64 loop over the partials gave, while
// only 8 bytes come back instead of 4·n. n is baked into the source (one pipeline per length).
//   two-sum: s = a + b; t = s − a; e = (a − (s − t)) + (b − t)   (s + e = a + b exactly)

/** Threads of the one workgroup. */
export const REDUCE_THREADS = 256;

/** WGSL summing `x[0..n)` into `out[0] + out[1]` (hi, lo). */
export function reduceSource(n: number): string {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`reduce over ${n} partials`);
  return [
    '@group(0) @binding(0) var<storage, read> x : array<f32>;',
    '@group(0) @binding(1) var<storage, read_write> out : array<f32>;',
    `var<workgroup> hs : array<f32, ${REDUCE_THREADS}>;`,
    `var<workgroup> ls : array<f32, ${REDUCE_THREADS}>;`,
    // an identity the shader compiler cannot see through (z is 0 at run time: one workgroup), so it
    // cannot simplify the two-sum's (a − (s − t)) to 0 as Mesa's NIR does for inexact float ops
    'var<private> z : u32;',
    'fn keep(x : f32) -> f32 { return bitcast<f32>(bitcast<u32>(x) | z); }',
    'fn two(a : f32, b : f32) -> vec2<f32> {',
    '  let s = keep(a + b);',
    '  let t = keep(s - a);',
    '  return vec2<f32>(s, (a - keep(s - t)) + (b - t));',
    '}',
    `@compute @workgroup_size(${REDUCE_THREADS})`,
    'fn main(@builtin(local_invocation_index) t : u32, @builtin(num_workgroups) nw : vec3<u32>) {',
    '  z = nw.x - 1u;',
    '  var hi : f32 = 0.0;',
    '  var lo : f32 = 0.0;',
    `  for (var j : u32 = t; j < ${n}u; j = j + ${REDUCE_THREADS}u) {`,
    '    let r = two(hi, x[j]);',
    '    hi = r.x;',
    '    lo = lo + r.y;',
    '  }',
    '  hs[t] = hi;',
    '  ls[t] = lo;',
    '  workgroupBarrier();',
    `  for (var w : u32 = ${REDUCE_THREADS / 2}u; w > 0u; w = w / 2u) {`,
    '    if (t < w) {',
    '      let r = two(hs[t], hs[t + w]);',
    '      hs[t] = r.x;',
    '      ls[t] = ls[t] + ls[t + w] + r.y;',
    '    }',
    '    workgroupBarrier();',
    '  }',
    '  if (t == 0u) {',
    '    let r = two(hs[0], ls[0]);',
    '    out[0] = r.x;',
    '    out[1] = r.y;',
    '  }',
    '}',
  ].join('\n');
}
