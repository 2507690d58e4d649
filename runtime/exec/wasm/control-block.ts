// control-block: int32 slots that threads poll and write (Atomics), on cache lines of their own.
// A small SharedArrayBuffer comes from the allocator next to whatever else it hands out; a worker that
// polls a slot whose cache line the main thread also writes for other data (or the other way round)
// makes both cores pass that line back and forth on every write. Here the slots sit a page into a
// buffer with a page after them, so no line they are on holds anything else.
const GUARD = 4096;

/** `ints` zeroed int32 slots in shared memory, with GUARD bytes of nothing on either side. */
export function controlBlock(ints: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(GUARD + 4 * ints + GUARD), GUARD, ints);
}
