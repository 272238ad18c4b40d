// Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection (client-node
// has none). A candidate takes the lease when it is free, released, or not renewed for
// leaseDurationSeconds as measured on the candidate's own clock (from when it last saw the record
// change, so clock skew between replicas does not matter). The leader renews every retry period;
// if it cannot renew within renewDeadlineSeconds it steps down before anyone else may take over.
// release() hands the lease over at once (holder cleared) on a clean shutdown.
import type { Logger } from '../../lib/log.js';
import { LEASES, createObject, errorText, getObject, isConflict, type Kube } from '../../lib/kube/client.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  renewDeadlineSeconds: number;
  retryPeriodSeconds: number;
  logger: Logger;
  onStartedLeading: () => void | Promise<void>;
  onStoppedLeading: () => void | Promise<void>;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

/** RFC 3339 with microseconds, the MicroTime format leases use. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

export class LeaderElector {
  private leading = false;
  private observedRecord = '';
  private observedAt = 0;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly kube: Kube, private readonly opts: LeaderElectionOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.loop ??= this.run();
  }

  private async run(): Promise<void> {
    const { retryPeriodSeconds, renewDeadlineSeconds, logger } = this.opts;
    let lastRenew = 0;
    while (!this.abort.signal.aborted) {
      const ok = await this.withTimeout(this.tryAcquireOrRenew(), renewDeadlineSeconds * 1000).catch((err: unknown) => {
        logger.warn({ err: errorText(err), lease: this.opts.name }, 'lease request failed');
        return false;
      });
      if (this.abort.signal.aborted) break;
      const now = Date.now();
      if (ok) {
        lastRenew = now;
        if (!this.leading) {
          this.leading = true;
          logger.info({ identity: this.opts.identity, lease: this.opts.name }, 'became leader');
          await this.opts.onStartedLeading();
        }
      } else if (this.leading && now - lastRenew >= renewDeadlineSeconds * 1000) {
        this.leading = false;
        logger.error({ identity: this.opts.identity, lease: this.opts.name }, 'could not renew the lease in time; stepping down');
        await this.opts.onStoppedLeading();
      }
      await sleep(retryPeriodSeconds * 1000, this.abort.signal);
    }
  }

  private async withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`lease request took longer than ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([p, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** One attempt; true when this candidate holds the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationSeconds } = this.opts;
    const now = new Date();
    const lease = await getObject<Lease>(this.kube, LEASES, namespace, name);
    if (!lease) {
      try {
        await createObject(this.kube, LEASES, namespace, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
        } satisfies Lease);
        return true;
      } catch (err) {
        if (isConflict(err)) return false;
        throw err;
      }
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = now.getTime();
    }
    const holder = spec.holderIdentity ?? '';
    const duration = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (holder !== '' && holder !== identity && this.observedAt + duration > now.getTime()) return false;
    const taking = holder !== identity;
    const updated: Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: taking ? microTime(now) : (spec.acquireTime ?? microTime(now)),
        renewTime: microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (taking && holder !== '' ? 1 : 0),
      },
    };
    try {
      // PUT with the resourceVersion read above: two candidates cannot both win
      await this.kube.custom.replaceNamespacedCustomObject({ ...LEASES, namespace, name, body: updated });
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
    if (taking) this.opts.logger.info({ identity, previous: holder || undefined }, 'acquired the lease');
    return true;
  }

  /** Stops campaigning; when leading, clears the holder so another replica takes over at once. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    if (!this.leading) return;
    this.leading = false;
    const { namespace, name, identity } = this.opts;
    try {
      const lease = await getObject<Lease>(this.kube, LEASES, namespace, name);
      if (lease && lease.spec?.holderIdentity === identity) {
        await this.kube.custom.replaceNamespacedCustomObject({
          ...LEASES,
          namespace,
          name,
          body: { ...lease, spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: microTime(new Date()) } },
        });
        this.opts.logger.info({ identity }, 'released the lease');
      }
    } catch (err) {
      this.opts.logger.warn({ err: errorText(err) }, 'could not release the lease');
    }
    await this.opts.onStoppedLeading();
  }
}
