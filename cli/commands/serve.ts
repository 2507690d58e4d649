// `recc serve RUN_DIR`: the HTTP API of runtime/serve/http.ts on a run folder, until SIGINT or
// SIGTERM, which stop accepting connections, finish the requests in flight and exit 0.
import { loadServingModel } from '../../runtime/serve/serving-model.ts';
import { buildServer } from '../../runtime/serve/http.ts';
import { AnnIndex } from '../../runtime/serve/ann.ts';
import { command, UsageError } from '../lib/args.ts';
import { ITEM_FLAGS, servingErrors, titlesFrom } from './serving-common.ts';

export const serve = command({
  name: 'serve',
  summary: 'an HTTP server: GET /recommend, /similar, /health, /metadata',
  description:
    'Answers JSON from the run folder alone: /recommend?user=ID&k=K, /similar?item=ID (or user=ID)&metric=M,\n' +
    '/health, /metadata. Bad parameters get 400, unknown ids 404. SIGINT/SIGTERM shut it down gracefully.',
  operands: [{ name: 'RUN_DIR', meaning: 'a run folder written by `recc run`' }],
  flags: [
    { kind: 'string', name: 'host', arg: 'ADDR', meaning: 'the address to listen on', default: '127.0.0.1' },
    { kind: 'count', name: 'port', short: 'p', arg: 'N', min: 0, value: 8080, meaning: 'the TCP port (0: any free port, printed)' },
    { kind: 'count', name: 'max-k', arg: 'K', min: 1, value: 1000, meaning: 'the largest k a request may ask for' },
    { kind: 'boolean', name: 'ann', meaning: 'answer /recommend from the HNSW index `recc index RUN` saved' },
    { kind: 'boolean', name: 'log', meaning: 'log every request as JSON lines on stdout' },
    ...ITEM_FLAGS,
  ],
  needsRuntime: () => false,
  run: ({ operands, flags }) => {
    if (flags.port > 65535) throw new UsageError(`--port must be at most 65535, got ${flags.port}`);
    const { m, titles, ann } = servingErrors(() => {
      const m = loadServingModel(operands[0]!);
      return { m, titles: titlesFrom(flags), ann: flags.ann ? AnnIndex.load(m, 'ip') : undefined };
    });
    const app = buildServer(m, { maxK: flags['max-k'], titles, ann, logger: flags.log });
    const host = flags.host ?? '127.0.0.1';
    let closing = false;
    const stop = (signal: string): void => {
      if (closing) return;
      closing = true;
      process.stderr.write(`recc serve: ${signal}, closing\n`);
      app.close().then(
        () => {
          process.stderr.write('recc serve: closed\n');
          process.exitCode = 0;
        },
        (err: unknown) => {
          process.stderr.write(`recc serve: error while closing: ${String(err)}\n`);
          process.exitCode = 1;
        },
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    app.listen({ host, port: flags.port }).then(
      (address) => process.stdout.write(`recc serve: ${m.meta.model} (${m.users.size} ${m.meta.userDomain}s, ${m.items.size} ${m.meta.itemDomain}s) listening on ${address}\n`),
      (err: Error) => {
        process.stderr.write(`error: cannot listen on ${host}:${flags.port}: ${err.message}\n`);
        process.exitCode = 1;
      },
    );
    return 0;
  },
});
