// http: `recc serve`'s HTTP API over a loaded run folder, on Fastify (a maintained framework with
// schema-free routing fast enough that the model, not the server, is the cost; light-my-request
// injection for tests). Every answer is JSON:
//   GET /health                              {"status": "ok"}
//   GET /metadata                            the model, domains, sizes, width, score terms, limits
//   GET /recommend?user=ID&k=K               top-K unseen items: {"user", "k", "items": [{"item", "score", "title"?}]}
//   GET /similar?item=ID&k=K&metric=M        nearest items (or ?user=ID: nearest users)
// Bad parameters are 400, unknown ids and routes 404, an over-long URL 414, with {"error", "message"};
// 500 only for a bug. k is limited (maxK), bodies too (GET has none: bodyLimit is small).
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { recommendRows } from './top-k.ts';
import { itemRow, RecommendError, userRow, type ServingModel } from './serving-model.ts';
import { METRICS, similarItems, similarUsers, type Metric } from './similar.ts';
import type { AnnIndex } from './ann.ts';

export interface ServerOptions {
  /** the largest k a request may ask for */
  readonly maxK?: number;
  readonly defaultK?: number;
  /** the longest request URL, in characters */
  readonly maxUrl?: number;
  readonly titles?: ReadonlyMap<string, string>;
  /** answer /recommend from this ip index (approximate candidates, exact scores) instead of every item */
  readonly ann?: AnnIndex;
  /** log requests (Fastify's pino logger) */
  readonly logger?: boolean;
}

/** A request the client got wrong: its status and a message. */
class HttpError extends Error {
  constructor(
    readonly status: 400 | 404 | 414,
    message: string,
  ) {
    super(message);
  }
}

const ERROR_NAMES = { 400: 'bad request', 404: 'not found', 414: 'URI too long', 413: 'payload too large', 415: 'unsupported media type', 500: 'internal error' } as const;

type Query = Record<string, string | string[] | undefined>;

function one(q: Query, name: string, required: boolean): string | undefined {
  const v = q[name];
  if (Array.isArray(v)) throw new HttpError(400, `give ${name} once, got ${v.length} values`);
  if (v === undefined || v === '') {
    if (required) throw new HttpError(400, `missing query parameter ${name}`);
    return undefined;
  }
  return v;
}

function kOf(q: Query, def: number, max: number): number {
  const s = one(q, 'k', false);
  if (s === undefined) return Math.min(def, max);
  if (!/^\d+$/.test(s) || Number(s) < 1) throw new HttpError(400, `k must be a whole number from 1 to ${max}, got ${JSON.stringify(s)}`);
  const k = Number(s);
  if (k > max) throw new HttpError(400, `k must be at most ${max}, got ${k}`);
  return k;
}

function known<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof RecommendError) throw new HttpError(404, err.message);
    throw err;
  }
}

/** The Fastify app for a loaded run folder (not listening yet). */
export function buildServer(m: ServingModel, opts: ServerOptions = {}): FastifyInstance {
  const maxK = opts.maxK ?? 1000;
  const defaultK = opts.defaultK ?? 10;
  const maxUrl = opts.maxUrl ?? 2048;
  const fastify = createRequire(import.meta.url)('fastify') as typeof import('fastify').default;
  const app = fastify({ logger: opts.logger ?? false, bodyLimit: 1024, routerOptions: { maxParamLength: 200 }, return503OnClosing: true, forceCloseConnections: 'idle' });
  const entry = (id: string, score: number): { item: string; score: number; title?: string } => {
    const title = opts.titles?.get(id);
    return title === undefined ? { item: id, score } : { item: id, score, title };
  };

  app.addHook('onRequest', async (req) => {
    if (req.url.length > maxUrl) throw new HttpError(414, `the request URL is ${req.url.length} characters; the limit is ${maxUrl}`);
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, _req: FastifyRequest, reply: FastifyReply) => {
    const status = err instanceof HttpError ? err.status : err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) reply.log.error(err);
    void reply.status(status).send({ error: ERROR_NAMES[status as keyof typeof ERROR_NAMES] ?? 'error', message: status === 500 ? 'internal error (a bug in recc)' : err.message });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: 'not found', message: `no route ${req.method} ${req.url.split('?')[0]}; try GET /recommend?user=ID, /similar?item=ID, /health or /metadata` });
  });

  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/metadata', async () => ({
    model: m.meta.model,
    userDomain: m.meta.userDomain,
    itemDomain: m.meta.itemDomain,
    users: m.users.size,
    items: m.items.size,
    width: m.width,
    interactionWidth: m.meta.interactionWidth,
    terms: m.meta.terms,
    limits: { maxK, defaultK, maxUrl },
    ann: opts.ann ? { metric: opts.ann.metric, items: opts.ann.size, ...opts.ann.params } : null,
  }));
  app.get('/recommend', async (req) => {
    const q = req.query as Query;
    const user = one(q, 'user', true)!;
    const k = kOf(q, defaultK, maxK);
    const u = known(() => userRow(m, user));
    if (opts.ann) {
      const hits = opts.ann.recommend(m, u, k);
      return { user, k, approximate: true, items: Array.from(hits.items, (i, r) => entry(m.items.external(i), hits.scores[r]!)) };
    }
    const res = recommendRows(m, [u], k);
    const items: ReturnType<typeof entry>[] = [];
    for (let r = 0; r < k && res.items[r]! >= 0; r++) items.push(entry(m.items.external(res.items[r]!), res.scores[r]!));
    return { user, k, items };
  });
  app.get('/similar', async (req) => {
    const q = req.query as Query;
    const item = one(q, 'item', false);
    const user = one(q, 'user', false);
    if ((item === undefined) === (user === undefined)) throw new HttpError(400, 'give exactly one of item=ID or user=ID');
    const k = kOf(q, defaultK, maxK);
    const metric = one(q, 'metric', false) ?? 'cosine';
    if (!(METRICS as readonly string[]).includes(metric)) throw new HttpError(400, `metric must be one of ${METRICS.join(', ')}, got ${JSON.stringify(metric)}`);
    if (item !== undefined) {
      const i = known(() => itemRow(m, item));
      const nb = known(() => similarItems(m, i, k, metric as Metric));
      return { item, k, metric, items: Array.from(nb.rows, (r, j) => entry(m.items.external(r), nb.scores[j]!)) };
    }
    const u = known(() => userRow(m, user!));
    const nb = known(() => similarUsers(m, u, k, metric as Metric));
    return { user, k, metric, users: Array.from(nb.rows, (r, j) => ({ user: m.users.external(r), score: nb.scores[j]! })) };
  });
  return app;
}
