// A sweep's folder, which is also what makes it resumable:
//   sweep.json       the sweep as asked (model, axes, search, seed, trials, objective, …); a resumed
//                    sweep must ask for the same one
//   trials/NNNN/     one folder per finished trial, trial.json inside (its config, metrics, objective),
//                    written under a temporary name and renamed, so a folder that exists is complete
//   trials.jsonl     the ledger: one line per finished trial, appended as each one ends
//   trials.csv/.json, best.json, sweep.md   the table of every finished trial and the best config,
//                    rewritten after every trial
// A killed sweep restarts from this folder: trials whose folder exists are done and never rerun.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../lib/args.ts';
import { toCsv, toMarkdown, type Row } from './table.ts';
import type { Config } from './space.ts';

export interface SweepSpec {
  readonly version: 1;
  /** absolute path of the model file */
  readonly model: string;
  /** `--param` texts, in order */
  readonly params: readonly string[];
  readonly search: 'random' | 'grid';
  readonly seed: number;
  readonly trials: number;
  /** k of k-fold cross-validation; absent: the objective is measured on the split's validation part */
  readonly folds?: number;
  readonly objective: string;
  readonly direction: 'min' | 'max';
  /** fixed bindings for every trial (consts, dims, lr, steps, epochs) */
  readonly fixed: Readonly<Record<string, number>>;
  readonly mode: string;
  readonly data?: string;
  readonly allowDense: boolean;
}

export interface TrialRecord {
  readonly trial: number;
  readonly config: Config;
  /** the objective's value (mean over folds, or on validation); null when the trial failed or diverged */
  readonly objective: number | null;
  /** the metrics the objective is one of (means over folds, or validation metrics) */
  readonly metrics: Readonly<Record<string, number>>;
  /** test metrics (with --folds: the folds' mean of the held-out fold; else the split's test part) */
  readonly test: Readonly<Record<string, number>>;
  readonly folds?: readonly Readonly<Record<string, number>>[];
  readonly seconds: number;
  readonly error?: string;
}

const trialName = (i: number): string => String(i).padStart(4, '0');

export class SweepFolder {
  constructor(readonly dir: string) {}

  get trialsDir(): string {
    return join(this.dir, 'trials');
  }

  /** Starts the folder, or checks that the one there is this sweep (resuming). */
  open(spec: SweepSpec): 'new' | 'resumed' {
    const path = join(this.dir, 'sweep.json');
    mkdirSync(this.trialsDir, { recursive: true });
    if (existsSync(path)) {
      const was = JSON.parse(readFileSync(path, 'utf8')) as SweepSpec;
      if (JSON.stringify(was) !== JSON.stringify(spec))
        throw new UserError(`${this.dir} holds a different sweep (its sweep.json differs from this command line); give another --out, or the same options to resume it`);
      // a trial killed mid-way left its temporary folder: it reruns
      for (const f of readdirSync(this.trialsDir)) if (f.includes('.tmp-')) rmSync(join(this.trialsDir, f), { recursive: true, force: true });
      return 'resumed';
    }
    writeAtomic(path, JSON.stringify(spec, null, 2) + '\n');
    return 'new';
  }

  static spec(dir: string): SweepSpec {
    const path = join(dir, 'sweep.json');
    if (!existsSync(path)) throw new UserError(`${dir} is not a sweep folder (no sweep.json)`);
    return JSON.parse(readFileSync(path, 'utf8')) as SweepSpec;
  }

  /** The finished trials, by number. */
  finished(): Map<number, TrialRecord> {
    const out = new Map<number, TrialRecord>();
    if (!existsSync(this.trialsDir)) return out;
    for (const f of readdirSync(this.trialsDir)) {
      if (!/^\d+$/.test(f)) continue;
      const p = join(this.trialsDir, f, 'trial.json');
      if (existsSync(p)) out.set(Number(f), JSON.parse(readFileSync(p, 'utf8')) as TrialRecord);
    }
    return out;
  }

  /** Writes trial `r`'s folder atomically; false when another process finished it first. */
  writeTrial(r: TrialRecord, extra: ReadonlyMap<string, string> = new Map()): boolean {
    const final = join(this.trialsDir, trialName(r.trial));
    const tmp = join(this.trialsDir, `${trialName(r.trial)}.tmp-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    for (const [name, text] of extra) writeFileSync(join(tmp, name), text);
    writeFileSync(join(tmp, 'trial.json'), JSON.stringify(r, null, 2) + '\n');
    try {
      renameSync(tmp, final);
      return true;
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      if (existsSync(join(final, 'trial.json'))) return false;
      throw err;
    }
  }

  /** The ledger's trial numbers. */
  ledger(): Set<number> {
    const p = join(this.dir, 'trials.jsonl');
    if (!existsSync(p)) return new Set();
    const lines = readFileSync(p, 'utf8').split('\n').filter((l) => l.trim());
    // a line cut short by a kill is dropped: its trial folder re-adds it
    return new Set(lines.flatMap((l) => { try { return [(JSON.parse(l) as TrialRecord).trial]; } catch { return []; } }));
  }

  appendLedger(r: TrialRecord): void {
    appendFileSync(join(this.dir, 'trials.jsonl'), JSON.stringify(r) + '\n');
  }

  /** Rewrites trials.csv, trials.json, best.json and sweep.md from the finished trials; the Markdown table. */
  writeTables(spec: SweepSpec, axes: readonly string[], trials: readonly TrialRecord[]): { markdown: string; best?: TrialRecord } {
    const sorted = [...trials].sort((a, b) => a.trial - b.trial);
    const metrics = [...new Set(sorted.flatMap((t) => Object.keys(t.metrics)))];
    const tests = [...new Set(sorted.flatMap((t) => Object.keys(t.test)))].map((m) => `test ${m}`);
    const columns = ['trial', ...axes, 'objective', ...metrics, ...tests, 'seconds', 'error'];
    const row = (t: TrialRecord): Row => ({
      trial: t.trial, ...t.config, objective: t.objective, ...t.metrics,
      ...Object.fromEntries(Object.entries(t.test).map(([k, v]) => [`test ${k}`, v])), seconds: t.seconds, error: t.error,
    });
    const sign = spec.direction === 'min' ? 1 : -1;
    const ranked = sorted.filter((t) => t.objective !== null && Number.isFinite(t.objective)).sort((a, b) => sign * (a.objective! - b.objective!) || a.trial - b.trial);
    const best = ranked[0];
    writeAtomic(join(this.dir, 'trials.csv'), toCsv(columns, sorted.map(row)));
    writeAtomic(join(this.dir, 'trials.json'), JSON.stringify(sorted, null, 2) + '\n');
    writeAtomic(join(this.dir, 'best.json'), JSON.stringify(best ? { trial: best.trial, config: best.config, fixed: spec.fixed, objective: spec.objective, direction: spec.direction, value: best.objective, metrics: best.metrics, test: best.test } : null, null, 2) + '\n');
    const shown = columns.filter((c) => c !== 'error' || sorted.some((t) => t.error));
    const markdown = toMarkdown(shown, [...ranked, ...sorted.filter((t) => !ranked.includes(t))].map(row));
    const what = spec.folds ? `mean ${spec.objective} over ${spec.folds} folds` : `validation ${spec.objective}`;
    writeAtomic(join(this.dir, 'sweep.md'), `# sweep of ${spec.model}\n\n${spec.search} search, ${trials.length} of ${spec.trials} trials finished; objective: ${what} (${spec.direction === 'min' ? 'lower' : 'higher'} is better)\n\n${markdown}`);
    return { markdown, best };
  }
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
