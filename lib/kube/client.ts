// Thin helpers over @kubernetes/client-node 1.x. Grouped resources (batch, apps, coordination,
// Knative, our CRs) go through CustomObjectsApi, which takes and returns plain JSON exactly as
// the API server speaks it; core resources (pods, secrets, services, events) through CoreV1Api,
// except the pod LIST a new SnoopyJob waits for, which getJson parses once as plain JSON.
// Every patch is a JSON merge patch, set explicitly (client-node's defaults differ per method).
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  ApisApi,
  KubeConfig,
  PatchStrategy,
  ServerConfiguration,
  HttpMethod,
  createConfiguration,
  setHeaderOptions,
  type Configuration,
  type KubernetesObject,
  type RequestContext,
  type SecurityAuthentication,
} from '@kubernetes/client-node';

export const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface GroupResource {
  group: string;
  version: string;
  plural: string;
}

export const JOBS: GroupResource = { group: 'batch', version: 'v1', plural: 'jobs' };
export const CRONJOBS: GroupResource = { group: 'batch', version: 'v1', plural: 'cronjobs' };
export const DEPLOYMENTS: GroupResource = { group: 'apps', version: 'v1', plural: 'deployments' };
export const LEASES: GroupResource = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' };
export const KSERVICES: GroupResource = { group: 'serving.knative.dev', version: 'v1', plural: 'services' };
export const SNOOPYJOBS: GroupResource = { group: 'job.fennecproject.io', version: 'v1alpha1', plural: 'snoopyjobs' };
export const DATAENDPOINTS: GroupResource = { group: 'data.fennecproject.io', version: 'v1alpha1', plural: 'snoopydataendpoints' };

/** HTTP status of a failed API call, or undefined for other errors. */
export function statusCode(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown; statusCode?: unknown } | null)?.code ?? (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

export const isNotFound = (err: unknown) => statusCode(err) === 404;
export const isConflict = (err: unknown) => statusCode(err) === 409;

/** A short error text for logs and conditions (ApiException's message embeds headers). */
export function errorText(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as { message?: string } | string | undefined;
    const msg = typeof body === 'object' && body?.message ? body.message : typeof body === 'string' ? body.slice(0, 300) : '';
    return `HTTP ${err.code}${msg ? `: ${msg}` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}

export interface Kube {
  kc: KubeConfig;
  /** what the typed APIs below send through (server, authentication, pooled connections) */
  configuration: Configuration;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  apis: ApisApi;
}

/** Distinct connection settings kept at once (a rotated client certificate makes a new set). */
const MAX_POOLS = 8;

/**
 * client-node 1.4 builds a new Agent, without keep-alive, for every API request: a TCP connect
 * per call, and on a real cluster a TLS handshake per call. This authentication wrapper lets
 * client-node apply the kubeconfig as usual, then swaps that throw-away agent for a keep-alive one
 * shared by every request with the same connection settings (CA, client certificate, server name…).
 * Proxy agents are left as built.
 */
export function pooledConnections(kc: KubeConfig): SecurityAuthentication {
  const pools = new Map<string, HttpAgent>();
  // The settings themselves are the key (a CA or certificate is a few KB: cheaper than hashing).
  const keyOf = (options: Record<string, unknown>): string =>
    JSON.stringify(Object.keys(options).sort().map((k) => {
      const v = options[k];
      return [k, Buffer.isBuffer(v) ? v.toString('base64') : typeof v === 'function' ? undefined : v];
    }));
  return {
    getName: () => 'kubeconfig authentication with pooled connections',
    async applySecurityAuthentication(context: RequestContext): Promise<void> {
      await kc.applySecurityAuthentication(context);
      const built = context.getAgent();
      if (!built || (built.constructor !== HttpAgent && built.constructor !== HttpsAgent)) return;
      // Agent#options holds the constructor's options (Node keeps them for its own socket creation).
      const options = { ...(built as unknown as { options: Record<string, unknown> }).options };
      const secure = built.constructor === HttpsAgent;
      const key = `${secure ? 'https' : 'http'}:${keyOf(options)}`;
      let agent = pools.get(key);
      if (!agent) {
        agent = secure ? new HttpsAgent({ ...options, keepAlive: true }) : new HttpAgent({ ...options, keepAlive: true });
        pools.set(key, agent);
        while (pools.size > MAX_POOLS) {
          const [oldest, old] = pools.entries().next().value as [string, HttpAgent];
          pools.delete(oldest);
          old.destroy();
        }
      }
      built.destroy();
      context.setAgent(agent);
    },
  };
}

/** A write refused because the client's `writesUntil` signal was aborted. */
export class WritesStoppedError extends Error {
  override name = 'WritesStoppedError';
}

/**
 * Refuses every request but GET once `signal` is aborted, before it leaves the process: a
 * leader that steps down fences the writes its controllers might still start, so none of them
 * lands after its successor's first write. (client-node applies authentication to every request
 * before sending it, which makes that step the one place to check.)
 */
function fenceWrites(auth: SecurityAuthentication, signal: AbortSignal): SecurityAuthentication {
  return {
    getName: () => `${auth.getName()}, writes fenced`,
    async applySecurityAuthentication(context: RequestContext): Promise<void> {
      if (signal.aborted && context.getHttpMethod() !== HttpMethod.GET) throw new WritesStoppedError(`${context.getHttpMethod()} ${new URL(context.getUrl()).pathname}: writes are stopped`);
      await auth.applySecurityAuthentication(context);
    },
  };
}

export interface KubeOptions {
  /** Once aborted, every request but GET is refused (WritesStoppedError). */
  writesUntil?: AbortSignal;
}

export function makeKube(kc: KubeConfig, opts: KubeOptions = {}): Kube {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  // As KubeConfig#makeApiClient does, with pooled connections as the authentication step.
  const auth = opts.writesUntil ? fenceWrites(pooledConnections(kc), opts.writesUntil) : pooledConnections(kc);
  const configuration = createConfiguration({ baseServer: new ServerConfiguration(cluster.server, {}), authMethods: { default: auth } });
  return { kc, configuration, core: new CoreV1Api(configuration), custom: new CustomObjectsApi(configuration), apis: new ApisApi(configuration) };
}

/**
 * GET of an API path, its JSON parsed once into plain objects. The typed core API parses a list
 * into model classes (Dates and all) that plain() then turns back into JSON: for the LIST of a
 * namespace's pods, which a new SnoopyJob waits for, three passes over every pod instead of one.
 * Errors are ApiExceptions, as from the typed calls.
 */
export async function getJson<T>(kube: Kube, path: string): Promise<T> {
  const { configuration } = kube;
  const ctx = configuration.baseServer.makeRequestContext(path, HttpMethod.GET);
  ctx.setHeaderParam('Accept', 'application/json');
  await configuration.authMethods.default?.applySecurityAuthentication(ctx);
  const res = await configuration.httpApi.send(ctx).toPromise();
  const text = await res.body.text();
  if (res.httpStatusCode < 200 || res.httpStatusCode > 299) {
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    throw new ApiException(res.httpStatusCode, `GET ${path}: HTTP ${res.httpStatusCode}`, body, res.headers);
  }
  return JSON.parse(text) as T;
}

export function resourcePath(r: GroupResource, namespace?: string): string {
  return namespace ? `/apis/${r.group}/${r.version}/namespaces/${namespace}/${r.plural}` : `/apis/${r.group}/${r.version}/${r.plural}`;
}

/** Plain JSON objects: client-node's typed core API returns class instances with Date fields. */
export function plain<T>(value: unknown): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export async function getObject<T extends KubernetesObject>(kube: Kube, r: GroupResource, namespace: string, name: string): Promise<T | undefined> {
  try {
    return (await kube.custom.getNamespacedCustomObject({ ...r, namespace, name })) as T;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function createObject<T extends KubernetesObject>(kube: Kube, r: GroupResource, namespace: string, body: T): Promise<T> {
  return (await kube.custom.createNamespacedCustomObject({ ...r, namespace, body })) as T;
}

/** Creates; an object of that name already existing counts as success (names are deterministic). */
export async function createIfAbsent<T extends KubernetesObject>(kube: Kube, r: GroupResource, namespace: string, body: T): Promise<'created' | 'exists'> {
  try {
    await createObject(kube, r, namespace, body);
    return 'created';
  } catch (err) {
    if (isConflict(err)) return 'exists';
    throw err;
  }
}

export async function patchObject<T extends KubernetesObject>(kube: Kube, r: GroupResource, namespace: string, name: string, body: unknown): Promise<T> {
  return (await kube.custom.patchNamespacedCustomObject({ ...r, namespace, name, body: body as object }, MERGE_PATCH)) as T;
}

export async function patchStatus<T extends KubernetesObject>(kube: Kube, r: GroupResource, namespace: string, name: string, status: unknown): Promise<T> {
  return (await kube.custom.patchNamespacedCustomObjectStatus({ ...r, namespace, name, body: { status } as object }, MERGE_PATCH)) as T;
}

/** Deletes in the background (dependents go too); already gone counts as success. */
export async function deleteObject(kube: Kube, r: GroupResource, namespace: string, name: string): Promise<void> {
  try {
    await kube.custom.deleteNamespacedCustomObject({ ...r, namespace, name, propagationPolicy: 'Background' });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export async function deleteSecret(kube: Kube, namespace: string, name: string): Promise<void> {
  try {
    await kube.core.deleteNamespacedSecret({ namespace, name });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Runs `fn` again (it must re-read what it changes) while the API answers 409 Conflict. */
export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!isConflict(err) || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 20 * i));
    }
  }
}

/** Runs `fn` over `items` with at most `limit` calls in flight; returns the settled results in order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const results = new Array<PromiseSettledResult<R>>(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await fn(items[i]!) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
