// What the serving commands (recommend, similar, serve, export --kv) share: the item-title flags,
// and turning a run folder's problems (runtime/serve's RecommendError) into user errors (exit 1).
// These commands read only the run folder's serving files, so they load no runtime (no gpu.js).
import { readItemTitles } from '../../runtime/serve/item-file.ts';
import { RecommendError } from '../../runtime/serve/serving-model.ts';
import { UserError, type Flag } from '../lib/args.ts';

export const ITEM_FLAGS = [
  { kind: 'string', name: 'items', arg: 'FILE', meaning: 'item titles from a CSV/TSV/pipe file (MovieLens u.item works as is)', default: 'ids only' },
  { kind: 'string', name: 'id-col', arg: 'C', meaning: "the item file's id column: a header name or a 1-based number", default: '1' },
  { kind: 'string', name: 'title-col', arg: 'C', meaning: "the item file's title column: a header name or a 1-based number", default: '2' },
] as const satisfies readonly Flag[];

export function titlesFrom(flags: { readonly items: string | undefined; readonly 'id-col': string | undefined; readonly 'title-col': string | undefined }): Map<string, string> | undefined {
  if (flags.items === undefined) {
    if (flags['id-col'] !== undefined || flags['title-col'] !== undefined) throw new UserError('--id-col and --title-col name columns of the --items file; give --items FILE too');
    return undefined;
  }
  return readItemTitles(flags.items, { idCol: flags['id-col'], titleCol: flags['title-col'] });
}

/** Runs `f`, reporting a run folder's problems as the user's (exit 1). */
export function servingErrors<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof RecommendError) throw new UserError(err.message);
    throw err;
  }
}
