// The command line as a user sees it: exit codes, messages on stderr (diagnostics with file:line:col,
// a caret line and a help line, never a stack trace), the compiled artifact and its validation, the
// run folder's files (float32 row-major .npy params), warm starts, divergence, explain, recommend and
// usage errors, and the strictness of the command line (unknown flags and commands with a "did you
// mean", checked values, per-command help). Most cases call main(argv) in-process (fast); a few spawn
// bin/recc.js.
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../cli/main.ts';
import { MODES } from '../cli/commands/run.ts';
import { ReferenceBackend } from '../runtime/exec/backend.ts';
import { BACKEND_MODES } from '../runtime/backends/backends.ts';
import { validatePlan } from '../runtime/output/artifact.ts';
import { readNpy } from '../runtime/output/npy.ts';
import { readParams, type ParamManifestEntry } from '../runtime/output/run-folder.ts';
import { EXAMPLES_DIR, loadExample, objective } from './helpers/examples.ts';
import { recc, reccProcess, type CliResult } from './helpers/cli.ts';

const GRAMIAN = join(EXAMPLES_DIR, 'mf-gramian.recmodel');
const BIASED = join(EXAMPLES_DIR, 'mf-biased.recmodel');
const DATA = join(EXAMPLES_DIR, 'data', 'synthetic-ratings.tsv');

const root = mkdtempSync(join(tmpdir(), 'recc-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const tmp = (name: string): string => join(root, name);

/** loss.csv as a header and numeric rows */
function lossCsv(dir: string): { header: string[]; rows: number[][] } {
  const [head, ...lines] = readFileSync(join(dir, 'loss.csv'), 'utf8').trim().split('\n');
  return { header: head!.split(','), rows: lines.map((l) => l.split(',').map(Number)) };
}
const column = (csv: ReturnType<typeof lossCsv>, name: string): number[] => csv.rows.map((r) => r[csv.header.indexOf(name)]!);

/** A user-facing error: exit 1, no stack trace, no "internal error". */
function expectUserError(r: CliResult): void {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).not.toContain('    at ');
  expect(r.stderr).not.toContain('internal error');
}

// the first run of mf-gramian: (d) its folder, (e) warm start from it, (h) recommend from it
const RUN = tmp('run1');
let run1: CliResult;
beforeAll(() => {
  run1 = recc('run', GRAMIAN, '--steps', '60', '--out', RUN, '--quiet');
});

describe('(a) a malformed model file', () => {
  const biased = readFileSync(BIASED, 'utf8');
  const lossLine = biased.split('\n').findIndex((l) => l.startsWith('loss mse'));
  const cases = [
    {
      name: 'syntax error (an unclosed parenthesis)',
      file: tmp('syntax.recmodel'),
      text: biased.replace('(r - score(u, i))^2)', '(r - score(u, i)^2)'),
      code: /error\[RC01\d\d\]/,
      // the `)` is missing at the end of the loss line
      at: (text: string) => `${lossLine + 1}:${text.split('\n')[lossLine]!.length + 1}`,
    },
    {
      name: 'semantic error (a misspelled def)',
      file: tmp('semantic.recmodel'),
      text: biased.replace('(r - score(u, i))^2)', '(r - scroe(u, i))^2)'),
      code: /error\[RC02\d\d\]/,
      at: (text: string) => `${lossLine + 1}:${text.split('\n')[lossLine]!.indexOf('scroe') + 1}`,
    },
  ];
  for (const c of cases) writeFileSync(c.file, c.text);

  it.each(cases)('$name: run and compile exit 1 with code, file:line:col, caret and help, no stack', (c) => {
    expect(c.text).not.toBe(biased);
    for (const argv of [['run', c.file, '--out', tmp('never')], ['compile', c.file, '-o', tmp('never-art')]]) {
      const r = recc(...argv);
      expectUserError(r);
      expect(r.stderr).toMatch(c.code);
      expect(r.stderr).toContain(`--> ${c.file}:${c.at(c.text)}`);
      expect(r.stderr).toMatch(/^\s*\d+ \| .*\n\s*\| *\^+/m); // the source line, then the caret line
      expect(r.stderr).toMatch(/^\s*= help: \S/m);
    }
    expect(existsSync(tmp('never'))).toBe(false);
    // `recc check` reports the same diagnostic (on stdout) and exits 1
    const check = recc('check', c.file);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(c.code);
  });

  it('the real executable: exit 1, the diagnostic on stderr, no stack trace', () => {
    const r = reccProcess('run', cases[1]!.file, '--out', tmp('never'));
    expectUserError(r);
    expect(r.stderr).toMatch(/error\[RC0201\]: cannot find function `scroe`/);
    expect(r.stderr).toContain('= help: did you mean `score`?');
  });
});

describe('(b) a malformed data row', () => {
  it('exits 1 and names file:7:COL of the bad number', () => {
    const lines = readFileSync(DATA, 'utf8').split('\n').slice(0, 30);
    lines[6] = '12\t34\tfour\t973878124'; // line 7: the rating (column 7) is not a number
    const bad = tmp('bad-row.tsv');
    writeFileSync(bad, lines.join('\n') + '\n');
    const r = recc('run', GRAMIAN, '--data', bad, '--out', tmp('bad-row-run'), '--quiet');
    expectUserError(r);
    expect(r.stderr).toContain(`${bad}:7:7:`);
    expect(r.stderr).toMatch(/rating/);
    expect(r.stderr).toContain('four');
  });
});

describe('(c) the compiled artifact', () => {
  const ART = tmp('art');

  it('recc compile writes plan.json that validates, the model source and kernels', () => {
    const r = recc('compile', GRAMIAN, '-o', ART);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(readFileSync(join(ART, 'plan.json'), 'utf8')) as Record<string, unknown>;
    expect(validatePlan(plan)).toEqual([]);
    expect(plan.model).toBe('mf_gramian');
    expect(readFileSync(join(ART, 'model.recmodel'), 'utf8')).toBe(readFileSync(GRAMIAN, 'utf8'));
    expect(readdirSync(join(ART, 'kernels')).length).toBeGreaterThan(0);
    // the score forms evaluation runs are part of the artifact, with their kernels
    const score = plan.score as { relation: string; forms: { name: string; axes: string[]; rewritten: string }[]; unavailable: Record<string, string> };
    expect(score.relation).toBe('ratings');
    expect(score.forms.map((f) => [f.name, f.axes])).toEqual([['tuples', ['ratings']], ['pairs', ['user', 'item']]]);
    expect(score.forms[0]!.rewritten).toContain('ratings.user[t]');
    expect(Object.keys(score.unavailable)).toEqual(['rows']);
    expect(readdirSync(join(ART, 'kernels'))).toEqual(expect.arrayContaining(['score-tuples.js', 'score-pairs.js']));
  });

  it('an invalid plan.json fails validation, naming the offending field', () => {
    const valid = JSON.parse(readFileSync(join(ART, 'plan.json'), 'utf8')) as Record<string, unknown>;
    const broken = (edit: (p: Record<string, unknown>) => void): string[] => {
      const p = structuredClone(valid);
      edit(p);
      return validatePlan(p);
    };
    expect(broken((p) => delete p.sourceSha256).join('\n')).toMatch(/sourceSha256/);
    expect(broken((p) => delete p.score).join('\n')).toMatch(/score/);
    expect(broken((p) => (p.version = 'one')).join('\n')).toMatch(/\/version/);
    expect(broken((p) => ((p.terms as { cost: { flops: unknown } }[])[0]!.cost.flops = 'many')).join('\n')).toMatch(/\/terms\/0\/cost\/flops/);
    expect(validatePlan('not a plan').length).toBeGreaterThan(0);

    // and `recc run` on an artifact with such a plan: exit 1, the file and the field, how to fix it
    const bad = tmp('art-bad');
    cpSync(ART, bad, { recursive: true });
    const p = structuredClone(valid);
    delete p.sourceSha256;
    writeFileSync(join(bad, 'plan.json'), JSON.stringify(p));
    const r = recc('run', bad, '--steps', '1', '--out', tmp('art-bad-run'));
    expectUserError(r);
    expect(r.stderr).toContain(join(bad, 'plan.json'));
    expect(r.stderr).toMatch(/sourceSha256/);
    expect(r.stderr).toMatch(/recc compile/);
  });

  it('recc run DIR trains from the artifact; after editing its model.recmodel it refuses, clearly', () => {
    const out = tmp('art-run');
    const r = recc('run', ART, '--steps', '5', '--out', out, '--quiet');
    expect(r.code, r.stderr).toBe(0);
    expect(lossCsv(out).rows.length).toBe(5);

    appendFileSync(join(ART, 'model.recmodel'), '# edited\n');
    const e = recc('run', ART, '--steps', '5', '--out', tmp('art-run-2'));
    expectUserError(e);
    expect(e.stderr).toContain(join(ART, 'model.recmodel'));
    expect(e.stderr).toMatch(/edited after compiling/);
    expect(e.stderr).toMatch(/recompile/);
    expect(existsSync(tmp('art-run-2'))).toBe(false);
  });
});

describe('(d) the run folder', () => {
  it('has metrics.json, loss.csv with one column per term, params/*.npy + manifest, ids/*.json, report.md', () => {
    expect(run1.code, run1.stderr).toBe(0);
    const metrics = JSON.parse(readFileSync(join(RUN, 'metrics.json'), 'utf8')) as { model: string; steps: number; final: Record<string, number>; diverged: unknown };
    expect(metrics.model).toBe('mf_gramian');
    expect(metrics.steps).toBe(60);
    expect(metrics.diverged).toBeNull();
    expect(Number.isFinite(metrics.final.rmse)).toBe(true);

    const csv = lossCsv(RUN);
    for (const term of ['omse', 'l2', 'gram', 'total']) expect(csv.header.filter((h) => h === term)).toEqual([term]);
    expect(csv.rows.length).toBe(60);
    for (const row of csv.rows) expect(row.length).toBe(csv.header.length);
    expect(column(csv, 'step')).toEqual(Array.from({ length: 60 }, (_, j) => j + 1));
    // total = Σ terms, on every row
    for (const row of csv.rows) {
      const sum = ['omse', 'l2', 'gram'].reduce((a, t) => a + row[csv.header.indexOf(t)]!, 0);
      expect(row[csv.header.indexOf('total')]).toBeCloseTo(sum, 9);
    }

    const manifest = JSON.parse(readFileSync(join(RUN, 'params', 'manifest.json'), 'utf8')) as ParamManifestEntry[];
    expect(manifest.map((m) => m.name).sort()).toEqual(['U', 'V']);
    const users = JSON.parse(readFileSync(join(RUN, 'ids', 'user.json'), 'utf8')) as string[];
    const items = JSON.parse(readFileSync(join(RUN, 'ids', 'item.json'), 'utf8')) as string[];
    expect(users.length).toBe(600);
    expect(items.length).toBe(400);
    expect(new Set(users).size).toBe(users.length);
    const rows: Record<string, number> = { U: users.length, V: items.length };
    for (const m of manifest) {
      const a = readNpy(join(RUN, 'params', m.file));
      expect(a.dtype).toBe('<f4');
      expect(a.data).toBeInstanceOf(Float32Array);
      expect(a.shape).toEqual([rows[m.name], 32]);
      expect(m.shape).toEqual(a.shape);
      expect(m.axes).toEqual([m.name === 'U' ? 'user' : 'item', 'd']);
      expect(a.data.every((x) => Number.isFinite(x))).toBe(true);
      // the header says C order
      const head = readFileSync(join(RUN, 'params', m.file)).subarray(0, 128).toString('latin1');
      expect(head).toContain(`'fortran_order': False`);
      expect(head).toContain(`'shape': (${rows[m.name]}, 32)`);
    }
    expect(readFileSync(join(RUN, 'report.md'), 'utf8')).toMatch(/^# mf_gramian/);
  });

  const numpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
  if (!numpy) console.log('[cli] skipping the numpy cross-check: `python3 -c "import numpy"` failed');

  it.skipIf(!numpy)('numpy loads U.npy as float32 (600, 32), C order, with the same values', () => {
    const mine = readNpy(join(RUN, 'params', 'U.npy'));
    const py = spawnSync('python3', ['-c', `import numpy as np, json; a = np.load(${JSON.stringify(join(RUN, 'params', 'U.npy'))}); print(json.dumps([str(a.dtype), list(a.shape), bool(a.flags['C_CONTIGUOUS']), float(a[3, 5]), float(a[599, 31])]))`], { encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    const [dtype, shape, cOrder, v35, vLast] = JSON.parse(py.stdout) as [string, number[], boolean, number, number];
    expect([dtype, shape, cOrder]).toEqual(['float32', [600, 32], true]);
    expect(v35).toBe(mine.data[3 * 32 + 5]);
    expect(vLast).toBe(mine.data[599 * 32 + 31]);
  });
});

describe('(e) warm start: recc run --init RUN', () => {
  it('starts from the saved params: its first loss is the loss at those params, far below a cold start', () => {
    const warm = tmp('run-warm');
    const r = recc('run', GRAMIAN, '--init', RUN, '--steps', '3', '--out', warm);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`warm start from ${RUN}`);
    const cold = column(lossCsv(RUN), 'total');
    const first = column(lossCsv(warm), 'total')[0]!;
    // the last logged loss of the first run is one update before its saved params
    expect(Math.abs(first - cold.at(-1)!) / cold.at(-1)!).toBeLessThan(0.02);
    expect(first).toBeLessThan(0.3 * cold[0]!);
    // exactly: the objective at the saved params, in float64
    const l = loadExample(GRAMIAN, readFileSync(GRAMIAN, 'utf8'));
    const { params, notes } = readParams(RUN, l.compiled, l.ds);
    expect(notes).toEqual([]);
    const want = objective(l, params, new ReferenceBackend());
    expect(Math.abs(first - want) / want).toBeLessThan(1e-5);
  });
});

describe('(f) divergence', () => {
  it('a huge learning rate: exit 1, stderr names the term that became non-finite, params are kept', () => {
    // mf-gramian with its learning rate as a const, so that --set can change it
    const text = readFileSync(GRAMIAN, 'utf8')
      .replace('const l2w = 0.1, gramw = 0.05', 'const l2w = 0.1, gramw = 0.05, rate = 0.01')
      .replace(/optimizer adam\(lr = [\d.]+\)/, 'optimizer sgd(lr = rate)');
    expect(text).toContain('sgd(lr = rate)');
    const model = tmp('lr.recmodel');
    writeFileSync(model, text);
    const out = tmp('run-diverged');
    const r = recc('run', model, '--data', DATA, '--set', 'rate=1e6', '--steps', '50', '--out', out, '--quiet');
    expectUserError(r);
    const m = /training diverged: term `([^`]+)` became (\S+) at step (\d+)/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    const [, term, value, step] = m!;
    expect(['omse', 'l2', 'gram', '∂/∂U', '∂/∂V']).toContain(term);
    expect(Number.isFinite(Number(value))).toBe(false);
    expect(r.stderr).toMatch(/= help: lower the learning rate/);

    // the folder still has the params (finite), and the log ends at the step that diverged
    for (const p of ['U', 'V']) {
      const a = readNpy(join(out, 'params', `${p}.npy`));
      expect(a.data.every((x) => Number.isFinite(x)), `${p}.npy`).toBe(true);
    }
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { diverged: { term: string; step: number } | null };
    expect(metrics.diverged?.term).toBe(term);
    const csv = lossCsv(out);
    const steps = column(csv, 'step');
    for (let j = 1; j < steps.length; j++) expect(steps[j]!, `loss.csv step column ${steps.join(',')}`).toBeGreaterThan(steps[j - 1]!);
    if (!term!.startsWith('∂')) {
      expect(steps.at(-1)).toBe(Number(step));
      expect(Number.isFinite(column(csv, term!).at(-1)!)).toBe(false);
    }
  });
});

describe('(g) recc explain', () => {
  it('shows the Gramian term rewritten by expand+contract, with its FLOP ratio', () => {
    const r = recc('explain', GRAMIAN);
    expect(r.code, r.stderr).toBe(0);
    const block = r.stdout.split(/\n\s*\n/).find((b) => b.startsWith('reg gram'));
    expect(block, r.stdout).toBeDefined();
    expect(block).toMatch(/rules:\s+expand\+contract/);
    // Σ_{k,l} (UᵀU)_{kl} (VᵀV)_{kl}: two d×d Gramians, in matrix notation
    expect(block).toMatch(/rewritten: gramw·⟨UᵀU, VᵀV⟩\/\(\|item\|·\|user\|\)/);
    const ratio = /\((\d+(?:\.\d+)?)× fewer FLOPs\)/.exec(block!);
    expect(ratio).not.toBeNull();
    expect(Number(ratio![1])).toBeGreaterThan(2);
  });
});

describe('(g2) recc explain sizes', () => {
  const FM = join(EXAMPLES_DIR, 'fm.recmodel');
  it('takes sizes from the model\'s data by default, and --sizes by public name', () => {
    const r = recc('explain', FM);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/sizes from the model's data \(data\/synthetic-ctr\.libsvm\)/);
    expect(r.stdout).toMatch(/\|clicks\| = \d+ tuples, B\(clicks\) = 2048 per step/);
    const s = recc('explain', FM, '--sizes', 'feature=100000,clicks=1000000,clicks.x=40000000');
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/\|feature\| = 100000/);
    expect(s.stdout).toMatch(/\|clicks\.x\| = 40000000 non-zeros, 81920 in a step's batch/);
  });
  it('rejects internal names in --sizes, listing the public ones', () => {
    const r = recc('explain', FM, '--sizes', 'clicks~x=5');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--sizes: unknown name `clicks~x` \(sizes of this model: clicks, clicks\.x, feature\)/);
  });
});

describe('(h) recc recommend', () => {
  it('prints the top 5 items, none of which the user rated in training', () => {
    const users = JSON.parse(readFileSync(join(RUN, 'ids', 'user.json'), 'utf8')) as string[];
    const user = users[0]!;
    const r = recc('recommend', RUN, '--user', user, '--top', '5');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const recs = lines.map((l) => /^\s*(\d+)\.\s+(\S+)\s+(-?\d+\.\d+)/.exec(l)).filter((m) => m !== null);
    expect(recs.map((m) => Number(m[1]))).toEqual([1, 2, 3, 4, 5]);
    const items = recs.map((m) => m[2]!);
    expect(new Set(items).size).toBe(5);
    const scores = recs.map((m) => Number(m[3]));
    for (let j = 1; j < 5; j++) expect(scores[j]!).toBeLessThanOrEqual(scores[j - 1]!);

    // the user's training items, from the same data and split the run used
    const l = loadExample(GRAMIAN, readFileSync(GRAMIAN, 'utf8'));
    const rel = l.ds.train.get('ratings')!;
    const u = l.ds.ids.get('user').get(user)!;
    const seen = new Set<string>();
    const us = rel.ids.get('user')!;
    const is = rel.ids.get('item')!;
    for (let t = 0; t < rel.size; t++) if (us[t] === u) seen.add(l.ds.ids.get('item').external(is[t]!));
    expect(seen.size).toBeGreaterThan(0);
    for (const i of items) expect(seen.has(i), `item ${i} was rated by user ${user} in training`).toBe(false);
  });
});

describe('(i) usage errors exit 2 with the usage text', () => {
  it.each([
    ['an unknown command', ['bogus']],
    ['run without a model', ['run']],
    ['compile without -o', ['compile', GRAMIAN]],
    ['recommend without --user', ['recommend', RUN]],
    ['a flag without its value', ['run', GRAMIAN, '--steps']],
    ['an unknown backend', ['run', GRAMIAN, '--mode', 'gpu', '--out', tmp('never-mode')]],
    ['a malformed --set', ['run', GRAMIAN, '--set', 'gramw', '--out', tmp('never-set')]],
    ['a model file that does not exist', ['check', tmp('missing.recmodel')]],
  ])('%s', (_, argv) => {
    const r = recc(...argv);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^error: /);
    expect(r.stderr).toContain('usage:');
    expect(r.stderr).not.toContain('    at ');
  });

  it('no command at all: the usage, exit 2; the real executable agrees on an unknown command', () => {
    const r = recc();
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('usage:');
    const p = reccProcess('bogus');
    expect(p.code).toBe(2);
    expect(p.stderr).toContain('unknown command `bogus`');
    expect(p.stderr).toContain('usage:');
  });
});

describe('(j) a strict command line: every flag is known, every value checked, every command has help', () => {
  /** one entry per flag of the options section: its line and the lines wrapped under it */
  const optionEntries = (help: string): string[] =>
    help
      .split('\noptions:\n')[1]!
      .split('\n')
      .reduce<string[]>((acc, l) => (/^ {2}(-\w, |\s{4})--/.test(l) ? [...acc, l] : acc.length && l.trim() ? [...acc.slice(0, -1), `${acc.at(-1)} ${l.trim()}`] : acc), []);

  it('a mistyped flag exits 2 with a suggestion, and nothing runs', () => {
    const out = tmp('never-dta');
    const r = recc('run', BIASED, '--dta', 'x', '--out', out);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('unknown option --dta (did you mean --data?)');
    expect(r.stderr).toContain('usage: recc run [FILE|DIR] [options]');
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
    // no near name: no suggestion; a short flag is checked too
    expect(recc('check', BIASED, '--zzzzzzzz').stderr).toMatch(/unknown option --zzzzzzzz\n/);
    expect(recc('check', BIASED, '-x').stderr).toMatch(/unknown option -x\n/);
  });

  it('--version prints the version from package.json', () => {
    const { version } = JSON.parse(readFileSync(join(EXAMPLES_DIR, '..', 'package.json'), 'utf8')) as { version: string };
    const r = recc('--version');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`recc ${version}\n`);
  });

  it('a mistyped command suggests the nearest one', () => {
    for (const argv of [['rnu', BIASED], ['help', 'rnu']]) {
      const r = recc(...argv);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('unknown command `rnu` (did you mean `run`?)');
    }
    expect(recc('expain', BIASED).stderr).toContain('did you mean `explain`?');
  });

  it('`recc help` lists every command; `recc help CMD` and `recc CMD --help` print the same help', () => {
    const top = recc('help');
    expect(top.code).toBe(0);
    expect(recc('--help').stdout).toBe(top.stdout);
    expect(recc('--help', 'run').stdout).toBe(recc('help', 'run').stdout);
    expect(recc('--verison').stderr).toContain('unknown option --verison (did you mean --version?)');
    for (const c of COMMANDS) {
      expect(top.stdout).toMatch(new RegExp(`^ {2}${c.name} +\\S`, 'm'));
      const help = recc('help', c.name);
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toContain(`usage: recc ${c.name}`);
      expect(recc(c.name, '--help').stdout).toBe(help.stdout);
      expect(recc(c.name, '-h').stdout).toBe(help.stdout);
    }
  });

  it.each(COMMANDS.map((c) => [c.name, c] as const))("`recc help %s` lists each of its flags with a meaning and a default", (_, c) => {
    const entries = optionEntries(recc('help', c.name).stdout);
    const names = entries.map((e) => /--([\w-]+)/.exec(e)![1]);
    expect(names).toEqual([...c.flags.map((f) => f.name), 'help']);
    for (const line of recc('help', c.name).stdout.split('\n')) expect([...line].length, line).toBeLessThanOrEqual(100);
    for (const e of entries) expect(e, e).toMatch(/^ {2}(-\w, | {4})--[\w-]+( \S+)?\s+\w.*\((default: .+|required)\)$/);
  });

  it('the README command table names every flag of every command', () => {
    const readme = readFileSync(join(EXAMPLES_DIR, '..', 'README.md'), 'utf8');
    const table = readme.split('## Commands')[1]!.split('\n## ')[0]!;
    for (const c of COMMANDS) {
      const row = table.split('\n').find((l) => l.startsWith(`| \`recc ${c.name} `));
      expect(row, `README row for recc ${c.name}`).toBeDefined();
      for (const f of c.flags) expect(row, `recc ${c.name} --${f.name}`).toMatch(new RegExp(`--${f.name}\\b`));
    }
  });

  it.each([
    ['--mode gpuu', ['run', GRAMIAN, '--mode', 'gpuu'], '--mode must be one of js, webasm, cpu, reference, wasm, webgpu, auto; got `gpuu`'],
    ['--steps abc', ['run', GRAMIAN, '--steps', 'abc'], '--steps expects a whole number, got `abc`'],
    ['--steps -3', ['run', GRAMIAN, '--steps=-3'], '--steps expects a whole number, got `-3`'],
    ['--epochs 0', ['run', GRAMIAN, '--epochs', '0'], '--epochs expects a positive whole number, got `0`'],
    ['--steps with --epochs', ['run', GRAMIAN, '--steps', '3', '--epochs', '1'], 'give either --steps or --epochs, not both'],
    ['--top 2.5', ['recommend', RUN, '--user', '1', '--top', '2.5'], '--top expects a positive whole number, got `2.5`'],
    ['--sizes user=many', ['explain', GRAMIAN, '--sizes', 'user=many'], '--sizes expects NAME=N (a whole number), got `user=many`'],
    ['--format yaml', ['check', GRAMIAN, '--format', 'yaml'], '--format must be one of text, json; got `yaml`'],
    ['a switch given a value', ['run', GRAMIAN, '--quiet=yes'], '--quiet takes no value, got `yes`'],
    ['a forgotten value', ['run', GRAMIAN, '--data', '--quiet'], '--data needs a value (FILE)'],
    ['a flag given twice', ['run', GRAMIAN, '--steps', '3', '--steps', '5'], '--steps is given more than once (`3`, `5`)'],
    ['an extra operand', ['explain', GRAMIAN, BIASED], `unexpected argument \`${BIASED}\``],
    ['an option before the command', ['--steps', '3', 'run', GRAMIAN], 'unknown option --steps'],
  ])('a bad value (%s): exit 2, the message and the usage on stderr', (_, argv, message) => {
    const r = recc(...argv);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.split('\n')[0]).toContain(`error: ${message}`);
    expect(r.stderr).toMatch(/^usage: recc /m);
    expect(r.stdout).toBe('');
  });

  it('--set may be repeated, or take a comma-separated list; every binding counts', () => {
    const both = recc('explain', GRAMIAN, '--set', 'l2w=0.5', '--set', 'd=8');
    expect(both.code, both.stderr).toBe(0);
    expect(both.stdout.split('\n')[1]).toContain('|d| = 8');
    expect(recc('explain', GRAMIAN, '--set', 'l2w=0.5,d=8').stdout).toBe(both.stdout);
    // the second --set is read: an unknown name there is the model's error (RC0509)
    const unknown = recc('explain', GRAMIAN, '--set', 'd=8', '--set', 'nosuch=1');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('RC0509');
  });

  it('--init with a folder that is not a run: exit 1, a user error', () => {
    const r = recc('run', GRAMIAN, '--init', tmp('no-such-run'), '--steps', '1', '--out', tmp('never-init'));
    expectUserError(r);
    expect(r.stderr).toContain('is not a run folder');
  });

  it("a folder for a model file is a usage error; a file system refusal is the user's (exit 1), not a bug", () => {
    const r = recc('check', EXAMPLES_DIR);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${EXAMPLES_DIR} is a folder, not a model file`);
    expect(r.stderr).toContain('usage: recc check FILE...');
    const file = tmp('a-file');
    writeFileSync(file, '');
    const w = recc('compile', GRAMIAN, '-o', join(file, 'art'));
    expectUserError(w);
    expect(w.stderr).toMatch(/^error: --out .*a-file\/art: .*a-file is a file, not a folder/);
    // a folder that cannot be made (Node's recursive mkdir never returns under /proc) is refused before training
    const p = recc('run', GRAMIAN, '--steps', '1', '-q', '--out', '/proc/recc-cannot-create/run');
    expectUserError(p);
    expect(p.stderr).toMatch(/^error: --out \/proc\/recc-cannot-create\/run: cannot create the folder \/proc\/recc-cannot-create \(/);
  });

  it('--epochs N trains N passes over the training data', () => {
    const out = tmp('run-epochs');
    const r = recc('run', BIASED, '--epochs', '2', '--out', out, '--quiet');
    expect(r.code, r.stderr).toBe(0);
    const epochs = column(lossCsv(out), 'epoch');
    expect(epochs.length).toBeGreaterThan(2); // mini-batches: several steps per epoch
    expect(epochs.at(-1)).toBe(2);
    expect(epochs.filter((e) => e <= 1).at(-1)).toBe(1);
  });

  it('-q (--quiet): no progress lines on stderr, the summary on stdout', () => {
    const quiet = recc('run', GRAMIAN, '--steps', '2', '--out', tmp('run-quiet'), '-q');
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toContain('mf_gramian: 2 steps');
  });

  it('run --mode takes exactly the backends the runtime has', () => {
    expect([...MODES]).toEqual([...BACKEND_MODES]);
  });

  it('explain --trace lists each rewrite step; explain --data costs the model at that data\'s sizes', () => {
    const plain = recc('explain', GRAMIAN);
    const traced = recc('explain', GRAMIAN, '--trace');
    expect(traced.code, traced.stderr).toBe(0);
    const block = traced.stdout.split(/\n\s*\n/).find((b) => b.startsWith('reg gram'))!;
    expect(block).toMatch(/^ {4}1\. expand\n.*\n {7}→ sum\(/m);
    expect(block).toMatch(/^ {4}2\. contract$/m);
    expect(plain.stdout).not.toMatch(/^ {4}1\. /m);

    const sized = recc('explain', GRAMIAN, '--data', DATA);
    expect(sized.code, sized.stderr).toBe(0);
    expect(sized.stdout.split('\n')[1]).toMatch(/\|user\| = 600, .*\|item\| = 400/);
    const defaults = recc('explain', GRAMIAN, '--no-data');
    expect(defaults.code, defaults.stderr).toBe(0);
    expect(defaults.stdout.split('\n')[1]).not.toContain('|user| = 600');
    // --sizes goes over --data
    expect(recc('explain', GRAMIAN, '--data', DATA, '--sizes', 'user=7').stdout.split('\n')[1]).toMatch(/\|user\| = 7, .*\|item\| = 400/);
  });
});
