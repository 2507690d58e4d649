// Load test of `recc serve`'s HTTP API (runtime/serve/http.ts) on 127.0.0.1 with autocannon, bounded
// in time: GET /recommend?user=…&k=10 for random users, then GET /similar?item=…&k=10, each for
// --seconds (default 10) with --connections (default 16). Reports p50/p99 latency and requests/s.
//   npx tsx bench/serve-load.ts [RUN_DIR] [--seconds 10] [--connections 16]
// Without RUN_DIR: a synthetic model of ML-100K's shape (943 users × 1682 items, d = 64).
import autocannon from 'autocannon';
import { buildServer } from '../runtime/serve/http.ts';
import { loadServingModel } from '../runtime/serve/serving-model.ts';
import { option } from './common.ts';
import { syntheticServingModel } from './serving-synthetic.ts';

const runDir = process.argv[2] !== undefined && !process.argv[2].startsWith('--') ? process.argv[2] : undefined;
const seconds = Number(option('seconds', '10'));
const connections = Number(option('connections', '16'));
const m = runDir ? loadServingModel(runDir) : syntheticServingModel(943, 1682, 64);
const app = buildServer(m);
const base = await app.listen({ host: '127.0.0.1', port: 0 });
console.log(`recc serve load test: ${runDir ?? 'synthetic 943 users × 1682 items, d = 64'} · ${connections} connections · ${seconds} s per endpoint · node ${process.version}`);

async function load(name: string, path: () => string): Promise<void> {
  const result = await autocannon({
    url: base,
    connections,
    duration: seconds,
    requests: [{ method: 'GET', setupRequest: (req: autocannon.Request) => ({ ...req, path: path() }) }],
  });
  const bad = result.non2xx + result.errors + result.timeouts;
  console.log(
    `${name.padEnd(22)} p50 ${String(result.latency.p50).padStart(4)} ms · p99 ${String(result.latency.p99).padStart(4)} ms · ` +
      `${result.requests.average.toFixed(0).padStart(6)} req/s (${result.requests.total} requests, ${bad} non-2xx/errors)`,
  );
}

const pick = (n: number): number => Math.floor(Math.random() * n);
await load('GET /recommend k=10', () => `/recommend?user=${encodeURIComponent(m.users.external(pick(m.users.size)))}&k=10`);
await load('GET /similar k=10', () => `/similar?item=${encodeURIComponent(m.items.external(pick(m.items.size)))}&k=10`);
await app.close();
