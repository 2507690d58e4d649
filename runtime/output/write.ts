// Writing a file atomically (a temp file beside it, then a rename), with failures named by the file:
// Node's ENOSPC/EDQUOT/EIO errors say `write` but not which file, and a full disk is the user's to fix,
// so the error is rethrown with the path in its message (keeping `code` and `syscall`, which the CLI
// reads as "the machine's state, not a bug": exit 1). The temp file is removed on failure.
import { closeSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';

/** Writes `data` to `path` atomically; an array is written piece by piece, never joined in memory. */
export function writeFileAtomic(path: string, data: string | Uint8Array | readonly (string | Uint8Array)[]): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) writeFileSync(tmp, data);
    else writePieces(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw namedFailure(err, path);
  }
}

function writePieces(path: string, pieces: readonly (string | Uint8Array)[]): void {
  const fd = openSync(path, 'w');
  try {
    for (const piece of pieces) {
      const bytes = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
      for (let at = 0; at < bytes.byteLength; ) at += writeSync(fd, bytes, at);
    }
  } finally {
    closeSync(fd);
  }
}

/** `err` (a failed file-system call) with `path` and a hint in its message; other errors unchanged. */
export function namedFailure(err: unknown, path: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof e.code !== 'string' || typeof e.syscall !== 'string') return err;
  const hint = e.code === 'ENOSPC' || e.code === 'EDQUOT' ? ' (the disk is full: free some space or write elsewhere with --out)' : '';
  return Object.assign(new Error(`cannot write ${path}: ${e.message}${hint}`), { code: e.code, syscall: e.syscall, path });
}
