// Token-level mutation of a model file for the fuzz tests (test/fuzz.test.ts):
// 1..maxEdits distinct tokens, edited right to left so each one's offsets stay valid, each deleted,
// replaced from `pool`, replaced by another token of the file, preceded by a pool token, or duplicated.

export interface MutationOptions {
  /** at most this many tokens are edited (at least one) */
  readonly maxEdits: number;
  /** a draw below this (and ≥ 0.25) replaces the token from the pool */
  readonly poolReplaceBelow: number;
}

/** `text` with a few of its `tokens` edited; every random choice comes from `rand`, in a fixed order. */
export function mutateTokens(
  text: string,
  tokens: readonly { readonly startOffset: number; readonly image: string }[],
  pool: readonly string[],
  rand: () => number,
  opts: MutationOptions,
): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const chosen = [...new Set(Array.from({ length: 1 + Math.floor(rand() * opts.maxEdits) }, () => Math.floor(rand() * tokens.length)))].sort((a, b) => b - a);
  let out = text;
  for (const k of chosen) {
    const t = tokens[k]!;
    const start = t.startOffset;
    const end = start + t.image.length;
    const r = rand();
    if (r < 0.25) out = out.slice(0, start) + out.slice(end); // delete
    else if (r < opts.poolReplaceBelow) out = out.slice(0, start) + pick(pool) + out.slice(end); // replace from the pool
    else if (r < 0.7) out = out.slice(0, start) + pick(tokens).image + out.slice(end); // replace from the file
    else if (r < 0.85) out = out.slice(0, start) + pick(pool) + ' ' + out.slice(start); // insert
    else out = out.slice(0, end) + ' ' + t.image + out.slice(end); // duplicate
  }
  return out;
}
