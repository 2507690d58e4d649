// The diagnostic catalogue: every code recc reports, with a one-line description. Codes are stable
// (tests and docs refer to them); retire a code rather than reuse it. Blocks: RC01xx syntax,
// RC02xx names, RC03xx index domains, RC04xx shapes and types, RC05xx model semantics.

export const messages = {
  RC0101: 'unexpected character',
  RC0102: 'unterminated string',
  RC0103: 'a required token is missing or another one stands in its place',
  RC0104: 'none of the forms allowed here starts with this token (e.g. an expression is expected)',
  RC0105: 'expected the start of a declaration',
  RC0106: 'a parenthesized list of values is only allowed before `in RELATION`',
  RC0107: 'malformed aggregation binding',
  RC0108: 'bindings or a `: body` in a call that is not an aggregation',
  RC0109: 'a contextual word is misspelled (`by time`, `per user`, `batch full`, `x N`, `sparse D`)',
  RC0110: 'a split option is given twice',
  RC0111: 'unknown parameter initializer, or wrong initializer arguments',
  RC0112: 'a declaration nested too deeply to parse or check',
  RC0113: 'a number literal too large for a float64 (it would be infinite)',

  RC0201: 'unknown name',
  RC0202: 'duplicate declaration',
  RC0203: 'a builtin name is redeclared',
  RC0204: 'a const is used before its declaration',
  RC0205: 'a name of the wrong kind (e.g. a shape axis that is not an index or a dim)',
  RC0206: 'the same variable is bound twice',

  RC0301: 'an index ranges over the wrong domain',
  RC0302: 'more indices than the tensor has axes',
  RC0303: 'an index position holds something that is not an index variable',
  RC0304: 'a tuple binding binds more variables than the relation has columns',
  RC0305: 'a membership test does not match the relation\'s columns',
  RC0306: 'a def argument does not match the def parameter\'s declared type',
  RC0307: 'something that is not a param or a sparse row is indexed',
  RC0308: 'a binding ranges over something that is not a domain, dim, sample set or sparse row',
  RC0309: 'an index variable is used as a value',
  RC0310: '`logq` of an index with no sampler over its domain in scope',

  RC0401: 'elementwise operands of different shapes',
  RC0402: 'a dot product of operands that are not rows of the same width',
  RC0403: 'a row or tensor where a scalar is needed (loss terms, conditions, comparisons, exponents)',
  RC0404: 'wrong number of arguments (defs and builtins)',
  RC0405: 'a named argument where none is allowed',
  RC0406: 'a name that is not a value (domain, relation, def, sparse row, sample set) used as one',
  RC0407: 'a string used as a number',
  RC0408: 'a call of something that is not a def or a builtin',

  RC0501: 'the model has no loss term',
  RC0502: 'a loss or reg term does not depend on any param',
  RC0503: 'a param is never used by any term',
  RC0504: 'unknown optimizer, or unknown optimizer argument',
  RC0505: 'a def calls itself (directly or through other defs)',
  RC0506: '`|x|` of something that is not a domain or a relation',
  RC0507: 'an imported file cannot be found (the path tried is noted)',
  RC0508: 'not a constant expression where one is needed (const, dim, init, optimizer arguments)',
  RC0509: '`--set` names no const or dim',
  RC0510: 'unknown metric, or a metric cutoff `@k` missing or not allowed',
  RC0511: 'unknown data format, or columns the format cannot hold',
  RC0512: 'unknown learning-rate schedule, or unknown schedule argument',
  RC0513: 'a value out of its allowed range (sizes, fractions, counts, learning rates)',
  RC0514: 'conflicting or repeated train or evaluate entries',
  RC0515: 'a sampler used outside a binding, unknown, or given bad arguments',
  RC0516: 'a split or batch refers to a column or domain the relation lacks',
  RC0517: 'a `where` clause uses something other than the relation\'s columns and consts',
  RC0518: 'imports form a cycle',
  RC0519: 'an imported file declares something other than defs, consts and imports',
  RC0520: 'an import path is neither `std/NAME` nor relative (`./x`, `../x`)',
  RC0521: 'division by the size of a relation that may be empty (warning)',
  RC0522: 'def calls nested deeper than the compiler follows (256)',
  RC0530: 'a term still visits every pair of two domains after rewriting (error unless --allow-dense)',
  RC0531: 'a term sums (or takes a max/min) over a whole domain for each tuple of a relation, e.g. a full softmax (warning, with its cost)',
  RC0532: 'a term\'s gradient costs more than 4× the term (warning, with both costs)',
  RC0590: 'a construct that checks but that the compiler cannot lower yet',
} as const satisfies Record<string, string>;

export type Code = keyof typeof messages;

export function isCode(s: string): s is Code {
  return Object.prototype.hasOwnProperty.call(messages, s);
}
