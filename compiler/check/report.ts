// Diagnostic helpers shared by the check passes: the `Report` sink, error and warning constructors,
// "did you mean" suggestions, and the exhaustiveness guard of every `switch`.
import { InternalError, suggest, type Diagnostic, type Note } from '../diagnostics/diagnostics.ts';
import type { Span } from '../diagnostics/source.ts';

export type Report = (d: Diagnostic) => void;

/** The default of every exhaustive `switch`: adding a variant will not compile until it is handled. */
export function assertNever(x: never): never {
  throw new InternalError(`unexpected variant ${JSON.stringify(x)}`);
}

export function error(code: string, message: string, span: Span, label?: string, more?: { notes?: readonly Note[]; help?: string }): Diagnostic {
  return {
    code,
    severity: 'error',
    message,
    span,
    ...(label ? { label } : {}),
    ...(more?.notes?.length ? { notes: more.notes } : {}),
    ...(more?.help ? { help: more.help } : {}),
  };
}

export function warning(code: string, message: string, span: Span, label?: string, help?: string): Diagnostic {
  return { code, severity: 'warning', message, span, ...(label ? { label } : {}), ...(help ? { help } : {}) };
}

/** "did you mean `a`?" / "did you mean one of `a`, `b`?" or undefined. */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const s = suggest(name, candidates);
  if (s.length === 0) return undefined;
  if (s.length === 1) return `did you mean \`${s[0]}\`?`;
  return `did you mean one of ${s.map((x) => `\`${x}\``).join(', ')}?`;
}

