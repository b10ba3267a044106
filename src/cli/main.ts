/**
 * `strangler`: the operator's command line for a running gateway's admin API (src/http/routes/admin).
 * It holds no routing logic: it reads and writes through /admin, so the gateway validates,
 * writes where the flags live and records the audit trail, whoever calls it.
 *
 *   GATEWAY_URL (default http://127.0.0.1:8080), ADMIN_TOKEN (the gateway's bearer token)
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { TSchema, Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { AuditResponseSchema, ChangeResponseSchema, RoutesResponseSchema, type AuditEntry, type ChangeResponse, type RouteChangeBody } from '../admin/schemas.js';
import { STICKINESS } from '../routing/route-schema.js';
import { CONTEXTS } from '../contexts/names.js';
import { formatAudit, formatChange, formatStatus } from './format.js';
import { ParityDetailResponseSchema, ParityListResponseSchema } from '../parity/schemas.js';
import { formatParity, formatParityList } from './parity-format.js';
import {
  OverrideClearedSchema,
  OverrideSchema,
  OverridesResponseSchema,
  RolloutStateSchema,
  RolloutsResponseSchema,
  HOLD_PATTERN,
  type GuardrailOverrides,
  type RolloutLimitsBody,
  type RolloutStartBody,
} from '../rollout/schemas.js';
import { guardrailOverrides } from './guardrail-args.js';
import { formatOverrides, formatRollout, formatRollouts } from './format-rollout.js';

export const EXIT = Object.freeze({ ok: 0, failed: 1, usage: 2, auth: 3, notFound: 4, unreachable: 5 });

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
}

const USAGE = `usage: strangler <command> [options]

commands:
  status                               routing per context: rollout, stickiness, constraints, source, breakers, traffic
  route <context> --percent N          send N % of users/sessions of <context> to the new service
        [--stickiness default|userId|sessionId] [--site SITE | --all-sites] [--reason TEXT]
  kill <context> [--reason TEXT]       back to legacy for everyone, now (0 %, flag disabled)
  audit [--limit N] [--context C]      recent changes, newest first
  parity [context]                     shadow comparison: counts per context; with one, fields, noise, last mismatches
  rollout start <context> --steps 1,5,25,50,100 --hold 5m [--reason TEXT]
        [--guardrail NAME=THRESHOLD[:MIN_SAMPLES]]... [--p99-floor MS]
                                       step the context up, each step judged by the guardrails
                                       (the gateway's ROLLOUT_* limits, or this rollout's own: e.g.
                                       --guardrail p99Ratio=2:1000 --guardrail errorRateDelta=0.005)
  rollout status [<context>]           every rollout, or one with its guardrails and history
  rollout pause|resume|abort <context> [--reason TEXT]
  rollout limits <context> --guardrail NAME=THRESHOLD[:MIN_SAMPLES]... [--p99-floor MS] [--reason TEXT]
                                       change a running or paused rollout's limits, over its current ones
  override set <context> --reason TEXT force legacy, whatever the flag (works with the flag source down)
  override clear <context> | override list

contexts: ${CONTEXTS.join(', ')} (this build's registry; \`strangler status\` lists the gateway's)

options:
  --gateway URL     gateway base URL (default: $GATEWAY_URL or http://127.0.0.1:8080)
  --actor NAME      who is making the change, for the audit trail (default: your OS user)
  --json            machine-readable output
  --timeout MS      per-request timeout (default 10000)
  -h, --help        this help

environment:
  ADMIN_TOKEN       the gateway's admin bearer token (required)
  GATEWAY_URL       as --gateway

exit codes: 0 ok, 1 gateway error, 2 usage or rejected input, 3 token missing/rejected or admin
disabled, 4 unknown context or route, 5 gateway unreachable or timed out`;

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly problem?: unknown,
  ) {
    super(message);
  }
}

interface Client {
  get<S extends TSchema>(path: string, schema: S): Promise<Static<S>>;
  send<S extends TSchema>(method: 'PUT' | 'POST' | 'DELETE', path: string, body: unknown, schema: S): Promise<Static<S>>;
}

/** Runs one command; never throws, returns the exit code. */
export async function run(argv: readonly string[], env: NodeJS.ProcessEnv, io: CliIO): Promise<number> {
  let json = false;
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        gateway: { type: 'string' },
        actor: { type: 'string' },
        json: { type: 'boolean', default: false },
        timeout: { type: 'string' },
        percent: { type: 'string' },
        stickiness: { type: 'string' },
        site: { type: 'string' },
        'all-sites': { type: 'boolean', default: false },
        reason: { type: 'string' },
        limit: { type: 'string' },
        context: { type: 'string' },
        steps: { type: 'string' },
        hold: { type: 'string' },
        guardrail: { type: 'string', multiple: true },
        'p99-floor': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    json = values.json ?? false;
    const [command, ...rest] = positionals;
    if (values.help || command === undefined || command === 'help') {
      io.out(USAGE);
      return command === undefined && !values.help ? EXIT.usage : EXIT.ok;
    }
    const gateway = gatewayUrl(values.gateway ?? env.GATEWAY_URL ?? 'http://127.0.0.1:8080');
    const timeoutMs = values.timeout === undefined ? 10_000 : intArg('--timeout', values.timeout, 1, 600_000);
    const token = env.ADMIN_TOKEN;
    if (!token) throw new CliError('ADMIN_TOKEN is not set: export the gateway\'s admin token (the same value as the gateway\'s ADMIN_TOKEN)', EXIT.auth);
    const actor = values.actor ?? env.STRANGLER_ACTOR ?? osUser();
    const client = httpClient(gateway, token, actor, timeoutMs);
    const print = (human: string, data: unknown) => io.out(json ? JSON.stringify(data, null, 2) : human);

    switch (command) {
      case 'status': {
        noExtra(rest, 0, 'status');
        const routes = await client.get('/admin/routes', RoutesResponseSchema);
        print(formatStatus(routes, gateway), routes);
        return EXIT.ok;
      }
      case 'route': {
        const context = oneContext(rest, 'route');
        if (values.percent === undefined) throw new CliError('route needs --percent N (0..100)', EXIT.usage);
        const body: RouteChangeBody = { percent: intArg('--percent', values.percent, 0, 100) };
        if (values.stickiness !== undefined) {
          if (!(STICKINESS as readonly string[]).includes(values.stickiness)) {
            throw new CliError(`--stickiness must be one of ${STICKINESS.join(', ')} (got "${values.stickiness}")`, EXIT.usage);
          }
          body.stickiness = values.stickiness as RouteChangeBody['stickiness'];
        }
        if (values.site !== undefined && values['all-sites']) throw new CliError('--site and --all-sites exclude each other', EXIT.usage);
        if (values.site !== undefined) body.site = values.site;
        if (values['all-sites']) body.site = null;
        if (values.reason !== undefined) body.reason = values.reason;
        const res = await client.send('PUT', `/admin/routes/${encodeURIComponent(context)}`, body, ChangeResponseSchema);
        print(formatChange(res), res);
        return EXIT.ok;
      }
      case 'kill': {
        const context = oneContext(rest, 'kill');
        const body = values.reason === undefined ? {} : { reason: values.reason };
        const res: ChangeResponse = await client.send('POST', `/admin/routes/${encodeURIComponent(context)}/kill`, body, ChangeResponseSchema);
        print(formatChange(res), res);
        return EXIT.ok;
      }
      case 'audit': {
        noExtra(rest, 0, 'audit');
        const q = new URLSearchParams();
        q.set('limit', String(values.limit === undefined ? 20 : intArg('--limit', values.limit, 1, 1000)));
        if (values.context !== undefined) q.set('context', values.context);
        const res = await client.get(`/admin/audit?${q}`, AuditResponseSchema);
        const entries: AuditEntry[] = res.entries;
        print(formatAudit(entries, res.skipped), res);
        return EXIT.ok;
      }
      case 'parity': {
        if (rest.length === 0) {
          const res = await client.get('/admin/parity', ParityListResponseSchema);
          print(formatParityList(res), res);
          return EXIT.ok;
        }
        const context = oneContext(rest, 'parity');
        const res = await client.get(`/admin/parity/${encodeURIComponent(context)}`, ParityDetailResponseSchema);
        print(formatParity(res), res);
        return EXIT.ok;
      }
      case 'rollout': {
        const [sub, ...args] = rest;
        const reason = values.reason === undefined ? {} : { reason: values.reason };
        if (sub === 'status') {
          if (args.length === 0) {
            const res = await client.get('/admin/rollouts', RolloutsResponseSchema);
            print(formatRollouts(res.rollouts), res);
          } else {
            const res = await client.get(`/admin/rollouts/${encodeURIComponent(oneContext(args, 'rollout status'))}`, RolloutStateSchema);
            print(formatRollout(res), res);
          }
          return EXIT.ok;
        }
        if (sub === 'start') {
          const context = oneContext(args, 'rollout start');
          if (values.steps === undefined || values.hold === undefined) throw new CliError('rollout start needs --steps (e.g. 1,5,25,50,100) and --hold (e.g. 5m)', EXIT.usage);
          const steps = values.steps.split(',').map((p) => intArg('--steps', p.trim(), 1, 100));
          if (!new RegExp(HOLD_PATTERN).test(values.hold) && !/^\d+$/.test(values.hold)) throw new CliError(`--hold must be a duration like 30s, 5m, 200ms (got "${values.hold}")`, EXIT.usage);
          const hold = /^\d+$/.test(values.hold) ? Number(values.hold) : values.hold;
          const guardrails = guardrailFlags(values.guardrail, values['p99-floor']);
          const body: RolloutStartBody = { steps, hold, ...reason, ...(guardrails ? { guardrails } : {}) };
          const res = await client.send('POST', `/admin/rollouts/${encodeURIComponent(context)}`, body, RolloutStateSchema);
          print(formatRollout(res), res);
          return EXIT.ok;
        }
        if (sub === 'limits') {
          const context = oneContext(args, 'rollout limits');
          const guardrails = guardrailFlags(values.guardrail, values['p99-floor']);
          if (!guardrails) throw new CliError('rollout limits needs --guardrail NAME=THRESHOLD[:MIN_SAMPLES] (repeatable) or --p99-floor MS', EXIT.usage);
          const body: RolloutLimitsBody = { guardrails, ...reason };
          const res = await client.send('PUT', `/admin/rollouts/${encodeURIComponent(context)}/limits`, body, RolloutStateSchema);
          print(formatRollout(res), res);
          return EXIT.ok;
        }
        if (sub === 'pause' || sub === 'resume' || sub === 'abort') {
          const context = oneContext(args, `rollout ${sub}`);
          const res = await client.send('POST', `/admin/rollouts/${encodeURIComponent(context)}/${sub}`, reason, RolloutStateSchema);
          print(formatRollout(res), res);
          return EXIT.ok;
        }
        throw new CliError(`rollout needs start, status, pause, resume, abort or limits (got "${sub ?? ''}")`, EXIT.usage);
      }
      case 'override': {
        const [sub, ...args] = rest;
        if (sub === 'list') {
          const res = await client.get('/admin/overrides', OverridesResponseSchema);
          print(formatOverrides(res.overrides), res);
          return EXIT.ok;
        }
        if (sub === 'set') {
          const context = oneContext(args, 'override set');
          if (values.reason === undefined) throw new CliError('override set needs --reason TEXT (it is recorded in the audit trail)', EXIT.usage);
          const res = await client.send('PUT', `/admin/routes/${encodeURIComponent(context)}/override`, { reason: values.reason }, OverrideSchema);
          print(formatOverrides([res]), res);
          return EXIT.ok;
        }
        if (sub === 'clear') {
          const context = oneContext(args, 'override clear');
          const res = await client.send('DELETE', `/admin/routes/${encodeURIComponent(context)}/override`, undefined, OverrideClearedSchema);
          print(res.cleared ? `${context}: kill override cleared; the flag decides again` : `${context}: there was no kill override`, res);
          return EXIT.ok;
        }
        throw new CliError(`override needs set, clear or list (got "${sub ?? ''}")`, EXIT.usage);
      }
      default:
        throw new CliError(`unknown command "${command}" (try: status, route, kill, audit, parity, rollout, override; strangler --help)`, EXIT.usage);
    }
  } catch (err) {
    const e = err instanceof CliError ? err : new CliError((err as Error).message, isArgError(err) ? EXIT.usage : EXIT.failed);
    io.err(`strangler: ${e.message}`);
    if (json) io.out(JSON.stringify({ error: { message: e.message, exitCode: e.exitCode, problem: e.problem } }, null, 2));
    return e.exitCode;
  }
}

/** parseArgs' own errors (unknown option, missing value) are usage errors. */
function isArgError(err: unknown): boolean {
  return typeof (err as { code?: unknown }).code === 'string' && String((err as { code: string }).code).startsWith('ERR_PARSE_ARGS');
}

function gatewayUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    return u.toString().replace(/\/+$/, '');
  } catch {
    throw new CliError(`invalid gateway URL "${raw}" (expected http(s)://host:port)`, EXIT.usage);
  }
}

/** --guardrail and --p99-floor as the start request's (or a limits change's) `guardrails`; undefined: none given. */
function guardrailFlags(flags: string[] | undefined, p99Floor: string | undefined): GuardrailOverrides | undefined {
  try {
    return guardrailOverrides(flags ?? [], p99Floor);
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.usage);
  }
}

function intArg(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new CliError(`${name} must be an integer ${min}..${max} (got "${raw}")`, EXIT.usage);
  return Number(raw);
}

function oneContext(rest: string[], command: string): string {
  if (rest.length !== 1) throw new CliError(`${command} needs exactly one context, e.g. strangler ${command} ${CONTEXTS[0] ?? '<context>'}`, EXIT.usage);
  return rest[0]!;
}

function noExtra(rest: string[], n: number, command: string): void {
  if (rest.length > n) throw new CliError(`${command} takes no argument "${rest[n]}"`, EXIT.usage);
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

function httpClient(gateway: string, token: string, actor: string, timeoutMs: number): Client {
  const request = async <S extends TSchema>(method: string, path: string, body: unknown, schema: S): Promise<Static<S>> => {
    let res: Response;
    try {
      res = await fetch(`${gateway}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          'x-actor': actor,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new CliError(`the gateway at ${gateway} did not answer within ${timeoutMs} ms`, EXIT.unreachable);
      }
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new CliError(`cannot reach the gateway at ${gateway} (${why}). Is it running? Set GATEWAY_URL or --gateway.`, EXIT.unreachable);
    }
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      throw new CliError(`${gateway} answered ${res.status} with a non-JSON body: is GATEWAY_URL a strangler gateway?`, EXIT.failed);
    }
    if (!res.ok) throw problemError(res.status, data, gateway);
    if (!checker(schema).Check(data)) {
      throw new CliError(`${gateway} answered ${method} ${path} with an unexpected body: is the gateway the same version as this CLI?`, EXIT.failed);
    }
    return data as Static<S>;
  };
  return {
    get: (path, schema) => request('GET', path, undefined, schema),
    send: (method, path, body, schema) => request(method, path, body, schema),
  };
}

const checkers = new Map<TSchema, ReturnType<typeof TypeCompiler.Compile>>();
function checker(schema: TSchema): ReturnType<typeof TypeCompiler.Compile> {
  let c = checkers.get(schema);
  if (!c) checkers.set(schema, (c = TypeCompiler.Compile(schema)));
  return c;
}

function problemError(status: number, data: unknown, gateway: string): CliError {
  const p = (data ?? {}) as { code?: unknown; detail?: unknown; errors?: { path: string; message: string }[] };
  const code = typeof p.code === 'string' ? p.code : `HTTP ${status}`;
  const detail = typeof p.detail === 'string' ? p.detail : 'no detail';
  switch (code) {
    case 'GW_ERR_ADMIN_UNAUTHORIZED':
      return new CliError(`the gateway at ${gateway} rejected the admin token (${code}: ${detail}); check ADMIN_TOKEN`, EXIT.auth, data);
    case 'GW_ERR_ADMIN_DISABLED':
      return new CliError(`the admin API of ${gateway} is disabled (${code}): start the gateway with ADMIN_TOKEN set`, EXIT.auth, data);
    case 'GW_ERR_ADMIN_CONTEXT_NOT_FOUND':
    case 'GW_ERR_ADMIN_ROLLOUT_NOT_FOUND':
    case 'GW_ERR_ROUTE_NOT_FOUND':
      return new CliError(`${detail} (${code})`, EXIT.notFound, data);
    default:
      if (status === 400) return new CliError(`rejected: ${detail} (${code})`, EXIT.usage, data);
      return new CliError(`the gateway answered ${status}: ${detail} (${code})`, EXIT.failed, data);
  }
}
