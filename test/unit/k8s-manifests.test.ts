/**
 * The Kubernetes manifests in deploy/ are validated here, in `npm test`: every document against
 * the Kubernetes OpenAPI schema of its kind (kubernetes-models, generated from the upstream
 * API), then what a schema cannot see: probes on the gateway's health endpoints, the preStop
 * drain equal to SHUTDOWN_DRAIN_MS, a grace period that covers the whole shutdown, selectors
 * that select the pods, and a configuration the gateway itself accepts.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { envSchema } from '../../src/config/schema.js';
import { loadConfig, requireUpstreams } from '../../src/config/load.js';

interface Validatable {
  validate(): void;
}
/** Every kind the manifests may use; a kind missing here fails the test rather than going unchecked. */
const MODELS: Record<string, new (data: never) => Validatable> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

interface Doc {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  [k: string]: unknown;
}

const root = join(import.meta.dirname, '../../deploy');
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : []));

const docs: Doc[] = files(root).flatMap((file) =>
  parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    return { ...(d.toJS() as Omit<Doc, 'file'>), file } as Doc;
  }),
);
const one = <T>(kind: string): T & Doc => {
  const found = docs.filter((d) => d.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind} in deploy/, found ${found.length}`);
  return found[0] as T & Doc;
};

t.test('every manifest is valid against the Kubernetes schema of its kind', async (t) => {
  t.ok(docs.length >= 6, `${docs.length} documents in deploy/`);
  for (const d of docs) {
    const Model = MODELS[`${d.apiVersion}/${d.kind}`];
    if (!Model) {
      t.fail(`${d.file}: no schema for ${d.apiVersion} ${d.kind} (add it to MODELS)`);
      continue;
    }
    const { file: _file, ...manifest } = d;
    t.doesNotThrow(() => new Model(manifest as never).validate(), `${d.kind} ${d.metadata.name}`);
  }
});

t.test('the validator rejects what the API server would', async (t) => {
  const base = one<IDeployment>('Deployment');
  const { file: _file, ...manifest } = base;
  const broken = structuredClone(manifest) as IDeployment;
  (broken.spec!.template.spec!.containers[0]!.lifecycle!.preStop as unknown as { sleep: { seconds: string } }).sleep.seconds = '5s';
  t.throws(() => new Deployment(broken).validate(), /must be integer/, 'a preStop sleep of "5s"');
  const noContainers = structuredClone(manifest) as IDeployment;
  delete (noContainers.spec!.template.spec as { containers?: unknown }).containers;
  t.throws(() => new Deployment(noContainers).validate(), /containers/, 'a pod without containers');
});

t.test('the Deployment: health probes, drain, grace period, resources, selectors', async (t) => {
  const cm = one<{ data: Record<string, string> }>('ConfigMap');
  const dep = one<IDeployment>('Deployment');
  const pod = dep.spec!.template;
  const [c] = pod.spec!.containers;
  t.ok(c, 'a gateway container');
  if (!c) return;
  const portNames = new Set((c.ports ?? []).map((p) => p.name));
  t.equal(c.readinessProbe?.httpGet?.path, '/readyz', 'readiness: /readyz (fails while draining or while Redis is down)');
  t.equal(c.livenessProbe?.httpGet?.path, '/healthz', 'liveness: /healthz (the process answers)');
  for (const probe of [c.readinessProbe, c.livenessProbe]) {
    const port = probe?.httpGet?.port;
    t.ok(typeof port === 'string' ? portNames.has(port) : port === Number(cm.data.PORT), `probe port ${String(port)} is the gateway's`);
  }
  t.equal(c.ports?.[0]?.containerPort, Number(cm.data.PORT), 'the container port is PORT');

  const drainMs = Number(cm.data.SHUTDOWN_DRAIN_MS);
  const graceMs = Number(cm.data.SHUTDOWN_GRACE_MS);
  const preStopS = c.lifecycle?.preStop?.sleep?.seconds;
  t.equal(preStopS, drainMs / 1000, `preStop sleeps SHUTDOWN_DRAIN_MS (${drainMs} ms)`);
  const termination = pod.spec!.terminationGracePeriodSeconds ?? 30;
  t.ok(termination * 1000 > (preStopS ?? 0) * 1000 + drainMs + graceMs, `terminationGracePeriodSeconds ${termination} s > preStop + drain + grace`);

  t.ok(c.resources?.requests?.cpu && c.resources.requests.memory, 'cpu and memory requests (the autoscaler needs the cpu request)');
  t.ok(c.resources?.limits?.memory, 'a memory limit');
  t.equal(pod.spec!.securityContext?.runAsNonRoot, true, 'non-root');

  const podLabels = pod.metadata?.labels ?? {};
  const selects = (sel: Record<string, string> | undefined) => !!sel && Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => podLabels[k] === v);
  t.ok(selects(dep.spec!.selector.matchLabels), 'the Deployment selects its pods');
  t.ok(selects(one<{ spec: { selector: Record<string, string> } }>('Service').spec.selector), 'the Service selects them');
  const pdb = one<{ spec: { selector: { matchLabels: Record<string, string> }; minAvailable: number } }>('PodDisruptionBudget');
  t.ok(selects(pdb.spec.selector.matchLabels), 'the PodDisruptionBudget selects them');
  const hpa = one<{ spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number } }>('HorizontalPodAutoscaler');
  t.same([hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name], ['Deployment', dep.metadata!.name], 'the autoscaler scales the Deployment');
  t.ok(pdb.spec.minAvailable < hpa.spec.minReplicas, 'a voluntary eviction is possible at the minimum replica count (minAvailable < minReplicas)');
  for (const ref of c.envFrom ?? []) {
    const name = ref.configMapRef?.name ?? ref.secretRef?.name;
    t.ok(docs.some((d) => d.kind === (ref.configMapRef ? 'ConfigMap' : 'Secret') && d.metadata.name === name), `envFrom ${name} is in deploy/`);
  }
});

t.test('the ConfigMap and Secret are a configuration the gateway accepts', async (t) => {
  const cm = one<{ data: Record<string, string> }>('ConfigMap');
  const secret = one<{ stringData: Record<string, string> }>('Secret');
  const env = { ...cm.data, ...secret.stringData };
  const known = new Set(Object.keys(envSchema().properties));
  for (const key of Object.keys(env)) t.ok(known.has(key), `${key} is a variable of src/config/schema.ts (not a typo the gateway would ignore)`);
  const config = loadConfig(env);
  t.equal(config.flags.source, 'unleash', 'several replicas take flags from Unleash (flag files are single-host)');
  t.ok(config.redisUrl, 'shared state in Redis');
  t.doesNotThrow(() => requireUpstreams(config), 'every upstream URL the production entry requires');
  t.equal(config.instances, one<IDeployment>('Deployment').spec!.replicas, 'GATEWAY_INSTANCES = replicas');
});
