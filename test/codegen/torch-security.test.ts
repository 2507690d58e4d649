// Exported PyTorch code is code: nothing from a model file may reach model.py except validated
// identifiers (behind a kind prefix, inside string keys) and numbers. Outside comments, every string
// literal is a generated name, an einsum spec or recc's version, and every bare identifier is one
// of recc's own (torch's API, rt helpers, generated temps) — for every example and for a model whose
// names are Python's builtins and keywords-to-be.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileFile, compileSource } from '../../compiler/compile.ts';
import { torchPackage } from '../../compiler/codegen/torch/package.ts';
import { pyIdent } from '../../compiler/codegen/torch/names.ts';

const ALLOWED = new Set([
  // Python
  'import', 'as', 'def', 'return', 'if', 'else', 'None', 'True', 'False', 'dim', 'recc_torch',
  // the generated module's own names
  'torch', 'rt', 'RECC_VERSION', 'HYPERS', 'init_params', 'P', 'S', 'T', 'I', 'R', 'SH', 'gen', 'score_tuples', 'score_rows', 'score_pairs',
  // torch API
  'einsum', 'index_select', 'permute', 'sum', 'exp', 'log', 'sqrt', 'abs', 'sigmoid', 'relu', 'tanh', 'sign', 'maximum', 'minimum', 'where', 'to', 'diagonal', 'arange', 'ones', 'argmax', 'argmin', 'expand', 'device', 'dtype',
  // rt helpers
  'C', 'ar', 'cnt', 'rx', 'gather', 'segsum', 'extremum', 'softplus', 'logsigmoid', 'step', 'allsum', 'rep', 'normal', 'uniform', 'full', 'DTYPE', 'DEVICE',
]);
const GENERATED = /^(v\d+|term\d+_(local|global|replicated))$/;
const STRING_OK = (s: string): boolean => /^[pdhin]_[A-Za-z0-9_]+$/.test(s) || /^[a-zA-Z,]*->[a-zA-Z]*$/.test(s) || s === '0.1.0';

function audit(py: string): { idents: string[]; strings: string[] } {
  const code = py
    .split('\n')
    .map((l) => l.replace(/#.*$/, ''))
    .join('\n');
  const strings = [...code.matchAll(/"([^"\\\n]*)"/g)].map((m) => m[1]!);
  expect(code.includes("'")).toBe(false);
  const bare = code.replace(/"[^"\\\n]*"/g, '""');
  const idents = (bare.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []).filter((x) => !/^\d/.test(x));
  return { idents, strings };
}

function expectClean(py: string): void {
  const { idents, strings } = audit(py);
  expect(idents.filter((x) => !ALLOWED.has(x) && !GENERATED.test(x))).toEqual([]);
  expect(strings.filter((s) => !STRING_OK(s))).toEqual([]);
  // numbers: only finite literals (no nan/inf names: they would be identifiers above)
}

describe('exported model.py', () => {
  for (const f of readdirSync('examples').filter((x) => x.endsWith('.recmodel'))) {
    it(`${f}: only generated names, torch and rt in the code`, () => {
      const r = compileFile(`examples/${f}`);
      expect(r.compiled).toBeDefined();
      expectClean(torchPackage(r.compiled!, '0.1.0').modelPy);
    });
  }

  it('a model named with Python builtins and dunders reaches the code only as prefixed string keys', () => {
    const text = [
      'model exec',
      'index __import__, os',
      'data eval(__import__: __import__, os: os, system: float) from "x.tsv" format tsv',
      'dim print = 3',
      'const globals = 0.5',
      'param open[__import__, print] ~ normal(0, 0.1)',
      'param compile[os, print] ~ normal(0, 0.1)',
      'def score(u, i) = open[u] . compile[i]',
      'loss __class__ = mean((u, i, r) in eval: (r - score(u, i))^2)',
      'reg  __builtins__ = globals * mean(u in __import__, i in os: score(u, i)^2)',
      'train { optimizer adam(lr = 0.01) steps 3 batch full }',
    ].join('\n');
    const r = compileSource('hostile.recmodel', text);
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const py = torchPackage(r.compiled!, '0.1.0').modelPy;
    expectClean(py);
    expect(py).toContain('T["p_open"]');
    expect(py).toContain('T["h_globals"]');
  });

  it('pyIdent rejects anything but a prefixed generated name', () => {
    for (const bad of ['exec', 'p_a b', 'p_a"]', 'p_\n', '__import__', 'x_ok']) expect(() => pyIdent(bad)).toThrow();
    expect(pyIdent('p_U')).toBe('p_U');
  });
});
