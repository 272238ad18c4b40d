// One pod on one node: sets up its sandbox (network namespace, volumes, /etc/hosts), runs its
// init containers then its containers as local processes, restarts them by restartPolicy with
// backoff, probes readiness, enforces activeDeadlineSeconds, reports status the way kubelet does
// (phase, conditions, container states, containerIDs, exit codes, termination messages) and on
// deletion stops the containers (SIGTERM, grace, SIGKILL) and removes the pod object.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, posix } from 'node:path';
import type { V1Container, V1ContainerStatus, V1Pod, V1PodCondition, V1Probe } from '@kubernetes/client-node';
import type { Logger } from '../../../lib/log.js';
import { podLogPath } from '../paths.js';
import { apiPath, type Kube } from '../controllers/kube-client.js';
import { setLongTimeout, type LongTimeout } from '../controllers/runtime.js';
import { containerCgroupDirs, createCgroupDirs, killAndRemoveCgroups, podCgroupDirs, qosClass, signalCgroups, type Hierarchy } from './cgroups.js';
import { startContainerProcess, type ContainerExit, type RunningContainer } from './container-process.js';
import { envReferences, podFieldValue, resolveEnv, type EnvSources } from './env.js';
import { run } from './host-exec.js';
import { resolveCommand, type ImageContext } from './images.js';
import { createPodNetwork, deletePodNetwork, RESERVATION_DIR, type ClusterNetwork, type PodIpam, type PodNetwork } from './network.js';
import { addRecord, removeRecord } from './state-records.js';
import { hasContentVolumes, volumeReferences, materializeVolumes, refreshVolumes } from './volumes.js';
import { processStartTime } from '../../../lib/proc.js';
import { podResolvConf } from './cluster-dns.js';
import type { EventRecorder } from '../controllers/events.js';

/** Where container roots are assembled (empty directories; the mounts live in the containers' namespaces). */
export const ROOTS_DIR = join(RESERVATION_DIR, 'roots');

/** Longest grace a dev cluster pod gets on deletion, whatever its spec asks. */
export const MAX_GRACE_SECONDS = 10;
/** Restart backoff: 1 s doubling to 20 s (kubelet: 10 s to 5 min; the dev cluster is for tests). */
const BACKOFF_START_MS = 1000;
const BACKOFF_MAX_MS = 20_000;
/**
 * How often a running pod's Secret, ConfigMap and downward API volumes are brought up to date
 * (kubelet: its sync period, about a minute; the dev cluster is for tests).
 */
export const VOLUME_SYNC_MS = 2000;

export interface NodeContext {
  kube: Kube;
  nodeName: string;
  stateDir: string;
  kubeconfigPath: string;
  /** kubeconfig reachable from inside pod network namespaces (the API relay's address) */
  podKubeconfigPath: string;
  /** the cluster DNS server's address, when it runs */
  dnsServer?: string;
  log: Logger;
  isRoot: boolean;
  net?: ClusterNetwork;
  ipam?: PodIpam;
  hostIP: string;
  hierarchies: Hierarchy[];
  images: ImageContext;
  /** service entries for /etc/hosts ("IP name name…" lines) as seen from a namespace */
  serviceHosts(namespace: string): string[];
  /** nftables ruleset for the service proxy inside a pod's network namespace */
  proxyRuleset(): string;
  event: EventRecorder;
}

type State = NonNullable<V1ContainerStatus['state']>;

interface ContainerRun {
  spec: V1Container;
  init: boolean;
  restartCount: number;
  state: State;
  lastState?: State;
  containerID?: string;
  proc?: RunningContainer;
  cgroupDirs: string[];
  ready: boolean;
  started: boolean;
  backoffMs: number;
  restartTimer?: NodeJS.Timeout;
  probeTimers: NodeJS.Timeout[];
  /** set once the container will not run again */
  done: boolean;
  rootDir?: string;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };
export function exitCodeOf(exit: ContainerExit): number {
  if (exit.code !== null) return exit.code;
  return 128 + (SIGNALS[exit.signal ?? ''] ?? 9);
}

export class PodRuntime {
  pod: V1Pod;
  readonly uid: string;
  readonly dir: string;
  private network?: PodNetwork;
  private readonly containers = new Map<string, ContainerRun>();
  private phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' = 'Pending';
  private reason?: string;
  private message?: string;
  private startTime?: string;
  private initialized = false;
  private terminating = false;
  private finished = false;
  private tornDown = false;
  private deadlineTimer?: LongTimeout;
  private statusChain: Promise<void> = Promise.resolve();
  private statusDirty = false;
  private readonly conditionTimes = new Map<string, { status: string; time: string }>();
  private readonly log: Logger;
  private hostsFile?: string;
  private resolvFile?: string;
  private volumeSync?: NodeJS.Timeout;

  constructor(pod: V1Pod, private readonly ctx: NodeContext, private readonly onGone: (uid: string) => void) {
    this.pod = pod;
    this.uid = pod.metadata!.uid!;
    this.dir = join(ctx.stateDir, 'kubelet', 'pods', this.uid);
    this.log = ctx.log.child({ pod: `${pod.metadata?.namespace}/${pod.metadata?.name}` });
    for (const c of pod.spec?.initContainers ?? []) this.containers.set(c.name, this.newRun(c, true));
    for (const c of pod.spec?.containers ?? []) this.containers.set(c.name, this.newRun(c, false));
  }

  private newRun(spec: V1Container, init: boolean): ContainerRun {
    return { spec, init, restartCount: 0, state: { waiting: { reason: init ? 'PodInitializing' : 'ContainerCreating' } }, cgroupDirs: [], ready: false, started: false, backoffMs: BACKOFF_START_MS, done: false, probeTimers: [] };
  }

  get ns(): string {
    return this.pod.metadata!.namespace!;
  }
  get name(): string {
    return this.pod.metadata!.name!;
  }
  private get restartPolicy(): string {
    return this.pod.spec?.restartPolicy ?? 'Always';
  }
  private get hostNetwork(): boolean {
    return this.pod.spec?.hostNetwork === true;
  }
  get podIP(): string | undefined {
    return this.hostNetwork ? this.ctx.hostIP : this.network?.ip ?? (this.ctx.isRoot ? undefined : '127.0.0.1');
  }
  get netns(): string | undefined {
    return this.network?.netns;
  }

  /** Called for every informer event about this pod. */
  update(pod: V1Pod): void {
    this.pod = pod;
    if (pod.metadata?.deletionTimestamp && !this.terminating) void this.terminate(pod.metadata.deletionGracePeriodSeconds ?? 30, true);
  }

  private starting: Promise<void> = Promise.resolve();

  /** Sets the sandbox up, then runs the containers in the background. */
  start(): Promise<void> {
    this.starting = this.setup().catch((e: Error) => this.log.error({ err: e.message }, 'pod start failed'));
    return this.starting;
  }

  private async setup(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    // plain JSON from the API: timestamps are strings despite the model types
    this.startTime = (this.pod.status?.startTime as unknown as string | undefined) ?? now();
    this.pushStatus();
    try {
      await this.setupSandbox();
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'pod sandbox setup failed');
      this.setWaitingAll('ContainerCreating', `sandbox: ${(e as Error).message}`);
      this.pushStatus();
      return;
    }
    if (this.terminating) return;
    this.startVolumeSync();
    void this.runContainers();
  }

  /** Keeps the pod's Secret, ConfigMap and downward API volumes up to date while it runs. */
  private startVolumeSync(): void {
    if (!hasContentVolumes(this.pod)) return;
    let busy = false;
    this.volumeSync = setInterval(() => {
      if (busy || this.terminating || this.finished || this.tornDown) return;
      busy = true;
      void this.syncVolumes().finally(() => (busy = false));
    }, VOLUME_SYNC_MS);
    // never what keeps the kubelet's process alive
    this.volumeSync.unref();
  }

  private async syncVolumes(): Promise<void> {
    let src: EnvSources;
    try {
      src = await this.fetchVolumeSources();
    } catch (e) {
      this.log.debug({ err: (e as Error).message }, 'volume sources not read: volumes keep their content');
      return;
    }
    if (this.terminating || this.finished || this.tornDown) return;
    try {
      const { changed, problems } = refreshVolumes(this.pod, this.dir, src, (p) => podFieldValue(this.podForEnv(), p, this.ctx.hostIP));
      if (changed.length > 0) this.log.info({ volumes: changed }, 'volumes updated');
      for (const problem of problems) this.log.debug({ problem }, 'volume not updated');
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'updating volumes failed');
    }
  }

  private async runContainers(): Promise<void> {
    const deadline = this.pod.spec?.activeDeadlineSeconds;
    if (deadline !== undefined && deadline !== null) {
      const ms = Date.parse(this.startTime!) + deadline * 1000 - Date.now();
      // deadlines beyond node's 24.8-day timer range must not fire at once
      this.deadlineTimer = setLongTimeout(() => void this.deadlineExceeded(), ms);
    }
    // init containers run one after another; each must succeed before the next
    for (const c of this.containers.values()) {
      if (!c.init) continue;
      for (;;) {
        if (this.terminating || this.finished) return;
        const exit = await this.runInit(c);
        if (exit === 0) break;
        if (this.restartPolicy === 'Never') {
          this.finish('Failed');
          return;
        }
        await sleep(c.backoffMs);
        c.backoffMs = Math.min(c.backoffMs * 2, BACKOFF_MAX_MS);
      }
    }
    this.initialized = true;
    for (const c of this.containers.values()) if (!c.init) void this.startContainer(c);
  }

  private setWaitingAll(reason: string, message?: string): void {
    for (const c of this.containers.values()) if (!c.proc && !c.done) c.state = { waiting: { reason, message } };
  }

  private async setupSandbox(): Promise<void> {
    if (this.ctx.isRoot && !this.hostNetwork && this.ctx.net && this.ctx.ipam) {
      const ip = this.ctx.ipam.allocate();
      try {
        this.network = await createPodNetwork(this.ctx.stateDir, this.ctx.net, this.uid, ip);
      } catch (e) {
        this.ctx.ipam.release(ip);
        throw e;
      }
      await this.applyProxyRules();
    }
    this.hostsFile = join(this.dir, 'etc-hosts');
    this.writeHosts();
    const resolv = this.resolvConf();
    if (resolv !== undefined) {
      this.resolvFile = join(this.dir, 'resolv.conf');
      writeFileSync(this.resolvFile, resolv);
    }
  }

  /** The pod's resolv.conf by dnsPolicy; undefined = the host's. */
  private resolvConf(): string | undefined {
    const policy = this.pod.spec?.dnsPolicy ?? 'ClusterFirst';
    const cfg = this.pod.spec?.dnsConfig;
    if (policy === 'None') {
      const lines: string[] = [];
      if (cfg?.searches?.length) lines.push(`search ${cfg.searches.join(' ')}`);
      for (const n of cfg?.nameservers ?? []) lines.push(`nameserver ${n}`);
      if (cfg?.options?.length) lines.push(`options ${cfg.options.map((o) => (o.value !== undefined ? `${o.name}:${o.value}` : o.name)).join(' ')}`);
      return lines.join('\n') + '\n';
    }
    const cluster = policy === 'ClusterFirstWithHostNet' || (policy === 'ClusterFirst' && !this.hostNetwork);
    if (!cluster || !this.ctx.dnsServer) return undefined;
    return podResolvConf(this.ns, this.ctx.dnsServer);
  }

  /** The pod's /etc/hosts (kubelet-managed): localhost, the pod itself, and the cluster's Services. */
  hostsContent(): string {
    const lines = ['# Kubernetes-managed hosts file (dev cluster).', '127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
    if (this.hostNetwork) {
      try {
        lines.push(...readFileSync('/etc/hosts', 'utf8').split('\n').filter((l) => l && !l.startsWith('#')));
      } catch {
        // no host hosts file
      }
    }
    const ip = this.podIP;
    const host = this.pod.spec?.hostname ?? this.name;
    if (ip) {
      const fqdn = this.pod.spec?.subdomain ? `${host}.${this.pod.spec.subdomain}.${this.ns}.svc.cluster.local` : undefined;
      lines.push(`${ip}\t${fqdn ? `${fqdn}\t` : ''}${host}`);
    }
    for (const a of this.pod.spec?.hostAliases ?? []) lines.push(`${a.ip}\t${(a.hostnames ?? []).join('\t')}`);
    lines.push(...this.ctx.serviceHosts(this.ns));
    return lines.join('\n') + '\n';
  }

  /** Rewrites /etc/hosts in place (same inode: the containers' bind mounts see the change). */
  writeHosts(): void {
    if (!this.hostsFile || this.tornDown) return;
    try {
      writeFileSync(this.hostsFile, this.hostsContent(), { flag: 'w' });
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'writing /etc/hosts failed');
    }
  }

  private proxyChain: Promise<void> = Promise.resolve();
  private proxyDirty = false;

  /** Rewrites the pod's service proxy table; runs one at a time, from the latest Services. */
  applyProxyRules(): Promise<void> {
    if (this.proxyDirty) return this.proxyChain;
    this.proxyDirty = true;
    this.proxyChain = this.proxyChain.then(async () => {
      this.proxyDirty = false;
      if (!this.network || this.tornDown) return;
      try {
        await run('ip', ['netns', 'exec', this.network.netns, 'nft', '-f', '-'], this.ctx.proxyRuleset());
      } catch (e) {
        if (!this.tornDown) this.log.warn({ err: (e as Error).message }, 'service proxy rules not applied');
      }
    });
    return this.proxyChain;
  }

  private async fetchSources(c: V1Container, withVolumes: boolean): Promise<EnvSources> {
    const refs = envReferences(c);
    if (withVolumes) {
      const v = volumeReferences(this.pod);
      for (const s of v.secrets) refs.secrets.add(s);
      for (const s of v.configMaps) refs.configMaps.add(s);
    }
    return this.readSources(refs);
  }

  private fetchVolumeSources(): Promise<EnvSources> {
    return this.readSources(volumeReferences(this.pod));
  }

  private async readSources(refs: { secrets: Set<string>; configMaps: Set<string> }): Promise<EnvSources> {
    const src: EnvSources = { secrets: new Map(), configMaps: new Map() };
    for (const s of refs.secrets) src.secrets.set(s, await this.ctx.kube.get(apiPath('v1', 'secrets', this.ns, s)));
    for (const s of refs.configMaps) src.configMaps.set(s, await this.ctx.kube.get(apiPath('v1', 'configmaps', this.ns, s)));
    return src;
  }

  private readonly inflight = new Set<Promise<boolean>>();

  /** Starts a container process; false when its configuration cannot be resolved (retried later). */
  private launch(c: ContainerRun): Promise<boolean> {
    const p = this.doLaunch(c).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
    return p;
  }

  private async doLaunch(c: ContainerRun): Promise<boolean> {
    if (this.terminating || this.finished) return false;
    const spec = c.spec;
    const containerID = randomBytes(32).toString('hex');
    const cdir = join(this.dir, 'containers', spec.name);
    let launched: RunningContainer;
    try {
      mkdirSync(cdir, { recursive: true });
      const src = await this.fetchSources(spec, true);
      const env = resolveEnv(this.podForEnv(), spec, src, this.ctx.hostIP);
      // the dev cluster's stand-in for the in-cluster service account
      env.KUBECONFIG ??= this.network ? this.ctx.podKubeconfigPath : this.ctx.kubeconfigPath;
      env.HOSTNAME ??= this.pod.spec?.hostname ?? this.name;
      env.HOME ??= '/root'; // what container runtimes set for root
      const volumes = materializeVolumes(this.pod, this.dir, this.ctx.stateDir, src, (p) => podFieldValue(this.podForEnv(), p, this.ctx.hostIP));
      const resolved = resolveCommand({ ...this.ctx.images, dataDir: join(this.dir, 'data') }, spec, env);
      const argv = resolved.argv.map((a) => a.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, n?: string) => (m === '$$' ? '$' : n && env[n] !== undefined ? env[n]! : m)));
      const termFile = join(cdir, 'termination-log');
      writeFileSync(termFile, '');
      const logPath = podLogPath(this.ctx.stateDir, this.ns, this.name, spec.name);
      mkdirSync(join(logPath, '..'), { recursive: true });
      let rootfs;
      if (this.ctx.isRoot) {
        const qos = qosClass([...(this.pod.spec?.containers ?? []), ...(this.pod.spec?.initContainers ?? [])]);
        c.cgroupDirs = containerCgroupDirs(this.ctx.hierarchies, qos, this.uid, containerID);
        for (const d of c.cgroupDirs) addRecord(this.ctx.stateDir, { kind: 'cgroup', path: d });
        createCgroupDirs(c.cgroupDirs);
        const mounts = [];
        for (const m of spec.volumeMounts ?? []) {
          const base = volumes.get(m.name);
          if (!base) throw new Error(`volumeMount "${m.name}" names no volume of the pod`);
          let source = base;
          if (m.subPath) {
            const sub = posix.normalize(m.subPath);
            if (sub.startsWith('..') || sub.startsWith('/')) throw new Error(`subPath "${m.subPath}" must stay inside the volume`);
            source = join(base, sub);
            mkdirSync(source, { recursive: true });
          }
          mounts.push({ source, target: m.mountPath, readOnly: m.readOnly ?? false });
        }
        mounts.push({ source: termFile, target: spec.terminationMessagePath ?? '/dev/termination-log' });
        if (!mounts.some((m) => posix.normalize(m.target) === '/etc/hosts')) mounts.push({ source: this.hostsFile!, target: '/etc/hosts', readOnly: false });
        if (this.resolvFile && !mounts.some((m) => posix.normalize(m.target) === '/etc/resolv.conf')) mounts.push({ source: this.resolvFile, target: '/etc/resolv.conf', readOnly: false });
        // a quiet, shallow place: the root's ancestors are rebuilt entry by entry in the container
        const rootDir = join(ROOTS_DIR, containerID.slice(0, 16));
        addRecord(this.ctx.stateDir, { kind: 'mount-root', path: rootDir });
        mkdirSync(rootDir, { recursive: true });
        c.rootDir = rootDir;
        rootfs = { rootDir, mounts, cgroupDirs: c.cgroupDirs };
      }
      launched = await startContainerProcess({ argv, env: { ...env, ...resolved.env }, workingDir: spec.workingDir, netns: this.network?.netns, rootfs, logPath });
      const rec = { kind: 'process' as const, pid: launched.pid, startTime: processStartTime(launched.pid) ?? '' };
      addRecord(this.ctx.stateDir, rec);
      void launched.exited.then(() => removeRecord(this.ctx.stateDir, rec));
    } catch (e) {
      const reason = (e as Error).name === 'CreateContainerConfigError' || (e as Error).name === 'VolumeError' ? 'CreateContainerConfigError' : 'CreateContainerError';
      this.log.warn({ container: spec.name, err: (e as Error).message }, 'container not started');
      this.record('Warning', 'Failed', `Error: ${(e as Error).message}`);
      c.state = { waiting: { reason, message: (e as Error).message } };
      if (c.cgroupDirs.length) await this.dropCgroups(c);
      return false;
    }
    if (this.terminating || this.finished) {
      // deleted (or past its deadline) while starting: the process never counts as running
      signalCgroups(c.cgroupDirs, 'SIGKILL');
      try {
        process.kill(launched.pid, 'SIGKILL');
      } catch {
        // gone
      }
      await launched.exited;
      await this.dropCgroups(c);
      return false;
    }
    c.proc = launched;
    c.containerID = containerID;
    c.started = true;
    c.state = { running: { startedAt: now() as unknown as Date } };
    this.log.info({ container: spec.name, pid: launched.pid, containerID }, 'container started');
    this.record('Normal', 'Created', `Created container ${spec.name}`);
    this.record('Normal', 'Started', `Started container ${spec.name}`);
    void launched.exited.then((exit) => this.onExit(c, launched, exit));
    if (!c.init) this.startProbes(c);
    this.pushStatus();
    return true;
  }

  private podForEnv(): V1Pod {
    return { ...this.pod, status: { ...(this.pod.status ?? {}), podIP: this.podIP, podIPs: this.podIP ? [{ ip: this.podIP }] : [] } };
  }

  private async runInit(c: ContainerRun): Promise<number> {
    if (!(await this.launch(c))) {
      this.pushStatus();
      return -1;
    }
    const exit = await c.proc!.exited;
    await sleep(0); // let onExit record the terminated state first
    return exitCodeOf(exit);
  }

  private async startContainer(c: ContainerRun): Promise<void> {
    if (this.terminating || this.finished) return;
    if (!(await this.launch(c))) {
      if (this.terminating || this.finished) return;
      this.pushStatus();
      // configuration may become valid (a Secret created later): retry with backoff
      c.restartTimer = setTimeout(() => void this.startContainer(c), c.backoffMs);
      c.backoffMs = Math.min(c.backoffMs * 2, BACKOFF_MAX_MS);
    }
  }

  private async onExit(c: ContainerRun, proc: RunningContainer, exit: ContainerExit): Promise<void> {
    if (c.proc !== proc) return;
    c.proc = undefined;
    c.ready = false;
    this.stopProbes(c);
    const code = exitCodeOf(exit);
    let message = '';
    try {
      message = readFileSync(join(this.dir, 'containers', c.spec.name, 'termination-log'), 'utf8').slice(0, 4096);
    } catch {
      // no message
    }
    if (!message && code !== 0 && c.spec.terminationMessagePolicy === 'FallbackToLogsOnError') {
      try {
        const log = readFileSync(podLogPath(this.ctx.stateDir, this.ns, this.name, c.spec.name), 'utf8');
        message = log.split('\n').slice(-80).join('\n').slice(-2048);
      } catch {
        // no log
      }
    }
    const startedAt = c.state.running?.startedAt;
    c.state = {
      terminated: {
        exitCode: code,
        signal: exit.signal ? SIGNALS[exit.signal] : undefined,
        reason: code === 0 ? 'Completed' : 'Error',
        message: message || undefined,
        startedAt: startedAt as unknown as Date,
        finishedAt: now() as unknown as Date,
        containerID: `containerd://${c.containerID}`,
      },
    };
    this.log.info({ container: c.spec.name, exitCode: code }, 'container exited');
    await this.dropCgroups(c);
    if (c.init) {
      this.pushStatus();
      return;
    }
    const restart = !this.terminating && !this.finished && (this.restartPolicy === 'Always' || (this.restartPolicy === 'OnFailure' && code !== 0));
    if (restart) {
      c.lastState = c.state;
      this.record('Warning', 'BackOff', `Back-off restarting failed container ${c.spec.name} in pod ${this.name}_${this.ns}(${this.uid})`);
      c.state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${Math.round(c.backoffMs / 1000)}s restarting failed container=${c.spec.name} pod=${this.name}_${this.ns}(${this.uid})` } };
      c.restartTimer = setTimeout(() => {
        c.restartCount++;
        void this.startContainer(c);
      }, c.backoffMs);
      c.backoffMs = Math.min(c.backoffMs * 2, BACKOFF_MAX_MS);
    } else c.done = true;
    const regular = [...this.containers.values()].filter((r) => !r.init);
    if (!this.terminating && regular.every((r) => r.done)) {
      const failed = regular.some((r) => (r.state.terminated?.exitCode ?? 1) !== 0);
      this.finish(failed ? 'Failed' : 'Succeeded');
    } else this.pushStatus();
  }

  private async dropCgroups(c: ContainerRun): Promise<void> {
    if (c.rootDir) {
      try {
        rmdirSync(c.rootDir);
        removeRecord(this.ctx.stateDir, { kind: 'mount-root', path: c.rootDir });
      } catch {
        // still a mount point while the container's last process exits; swept at teardown
      }
      c.rootDir = undefined;
    }
    // the runtime ends a container's other processes with its main one
    const dirs = c.cgroupDirs;
    c.cgroupDirs = [];
    if (dirs.length === 0) return;
    await killAndRemoveCgroups(dirs);
    for (const d of dirs) removeRecord(this.ctx.stateDir, { kind: 'cgroup', path: d });
  }

  /**
   * Readiness (Ready follows the latest result; no probe = ready while running) and liveness
   * (failureThreshold consecutive failures restart the container by its restartPolicy) probes
   * of one container process, after its startup probe (if any) succeeded once; a startup probe
   * failing failureThreshold times in a row restarts the container as liveness does.
   */
  private startProbes(c: ContainerRun): void {
    const proc = c.proc;
    const every = (probe: V1Probe, onResult: (ok: boolean) => boolean | void) => {
      let timer: NodeJS.Timeout | undefined;
      const check = async () => {
        if (c.proc !== proc) return;
        const ok = await this.probe(probe, c);
        // a true return ends this probe (the startup probe, once it passed)
        if (c.proc === proc && onResult(ok) === true && timer) clearInterval(timer);
      };
      c.probeTimers.push(
        setTimeout(() => {
          if (c.proc !== proc) return;
          timer = setInterval(() => void check(), (probe.periodSeconds ?? 10) * 1000);
          c.probeTimers.push(timer);
          void check();
        }, (probe.initialDelaySeconds ?? 0) * 1000),
      );
    };
    const startup = c.spec.startupProbe;
    if (startup) {
      let failures = 0;
      every(startup, (ok) => {
        if (ok) {
          this.startRunningProbes(c, every);
          return true;
        }
        if (++failures >= (startup.failureThreshold ?? 3)) {
          failures = 0;
          this.restartUnhealthy(c, 'Startup');
        }
      });
    } else this.startRunningProbes(c, every);
  }

  private startRunningProbes(c: ContainerRun, every: (probe: V1Probe, onResult: (ok: boolean) => boolean | void) => void): void {
    const readiness = c.spec.readinessProbe;
    if (!readiness) {
      c.ready = true;
      this.pushStatus();
    } else {
      every(readiness, (ok) => {
        if (ok !== c.ready) {
          c.ready = ok;
          this.pushStatus();
        }
      });
    }
    const liveness = c.spec.livenessProbe;
    if (liveness) {
      let failures = 0;
      every(liveness, (ok) => {
        failures = ok ? 0 : failures + 1;
        if (failures < (liveness.failureThreshold ?? 3) || !c.proc) return;
        failures = 0;
        this.restartUnhealthy(c, 'Liveness');
      });
    }
  }

  /** SIGTERM, then SIGKILL after the grace period; onExit restarts it by restartPolicy. */
  private restartUnhealthy(c: ContainerRun, probe: 'Liveness' | 'Startup'): void {
    const proc = c.proc;
    if (!proc) return;
    this.record('Warning', 'Unhealthy', `${probe} probe failed`);
    this.record('Normal', 'Killing', `Container ${c.spec.name} failed ${probe.toLowerCase()} probe, will be restarted`);
    const dirs = c.cgroupDirs;
    try {
      process.kill(proc.pid, 'SIGTERM');
    } catch {
      // gone
    }
    const grace = Math.min(this.pod.spec?.terminationGracePeriodSeconds ?? 30, MAX_GRACE_SECONDS) * 1000;
    setTimeout(() => {
      if (c.proc === proc) {
        signalCgroups(dirs, 'SIGKILL');
        try {
          process.kill(proc.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }, grace).unref();
  }

  private stopProbes(c: ContainerRun): void {
    for (const t of c.probeTimers) clearTimeout(t);
    c.probeTimers = [];
  }

  private async probe(p: V1Probe, c: ContainerRun): Promise<boolean> {
    const timeout = (p.timeoutSeconds ?? 1) * 1000;
    const host = this.podIP ?? '127.0.0.1';
    const port = (x: number | string | undefined): number => {
      if (typeof x === 'number') return x;
      const named = c.spec.ports?.find((cp) => cp.name === x);
      return named?.containerPort ?? Number(x);
    };
    try {
      if (p.tcpSocket) {
        return await new Promise<boolean>((resolve) => {
          const s = connect({ host, port: port(p.tcpSocket!.port as number | string), timeout });
          s.once('connect', () => {
            s.destroy();
            resolve(true);
          });
          s.once('error', () => resolve(false));
          s.once('timeout', () => {
            s.destroy();
            resolve(false);
          });
        });
      }
      if (p.httpGet) {
        const scheme = (p.httpGet.scheme ?? 'HTTP').toLowerCase();
        const res = await fetch(`${scheme}://${host}:${port(p.httpGet.port as number | string)}${p.httpGet.path ?? '/'}`, { signal: AbortSignal.timeout(timeout) });
        await res.arrayBuffer();
        return res.status >= 200 && res.status < 400;
      }
      if (p.exec?.command?.length && c.proc) {
        // inside the container: its mount, network and root
        await run('nsenter', ['-t', String(c.proc.pid), '-m', '-n', '-r', '-w', '--', ...p.exec.command]);
        return true;
      }
    } catch {
      return false;
    }
    return true;
  }

  private async deadlineExceeded(): Promise<void> {
    if (this.finished || this.terminating) return;
    this.log.info('activeDeadlineSeconds exceeded');
    this.reason = 'DeadlineExceeded';
    this.message = `Pod was active on the node longer than the specified deadline`;
    await this.stopContainers(MAX_GRACE_SECONDS);
    this.finish('Failed');
  }

  private finish(phase: 'Succeeded' | 'Failed'): void {
    if (this.finished) return;
    this.finished = true;
    this.phase = phase;
    for (const c of this.containers.values()) {
      if (c.restartTimer) clearTimeout(c.restartTimer);
      c.ready = false;
      c.done = true;
    }
    this.deadlineTimer?.cancel();
    this.pushStatus();
    // a finished pod keeps its status and logs, not its sandbox
    void this.teardown();
  }

  /** SIGTERM to each container's process, SIGKILL to all of them after the grace period. */
  private async stopContainers(graceSeconds: number): Promise<void> {
    const running = [...this.containers.values()].filter((c) => c.proc);
    for (const c of running) this.record('Normal', 'Killing', `Stopping container ${c.spec.name}`);
    for (const c of this.containers.values()) {
      if (c.restartTimer) clearTimeout(c.restartTimer);
      this.stopProbes(c);
    }
    for (const c of running) {
      try {
        process.kill(c.proc!.pid, 'SIGTERM');
      } catch {
        // gone
      }
    }
    const grace = Math.min(Math.max(graceSeconds, 0), MAX_GRACE_SECONDS) * 1000;
    const all = Promise.all(running.map((c) => c.proc?.exited ?? Promise.resolve(undefined)));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((r) => (timer = setTimeout(r, grace)))]);
    clearTimeout(timer);
    for (const c of running) {
      if (c.proc) {
        signalCgroups(c.cgroupDirs, 'SIGKILL');
        try {
          process.kill(c.proc.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    await Promise.all(running.map((c) => c.proc?.exited ?? Promise.resolve(undefined)));
    await sleep(0);
  }

  /** Graceful deletion (deletionTimestamp set): stop, tear down, remove the pod object. */
  private terminated?: Promise<void>;
  terminate(graceSeconds: number, deleteObject: boolean): Promise<void> {
    this.terminated ??= this.doTerminate(graceSeconds, deleteObject);
    return this.terminated;
  }

  private async doTerminate(graceSeconds: number, deleteObject: boolean): Promise<void> {
    this.terminating = true;
    // a deleted pod's deadline timer would otherwise keep the process alive until it fires
    this.deadlineTimer?.cancel();
    await this.starting;
    await Promise.all([...this.inflight]);
    await this.stopContainers(graceSeconds);
    await this.teardown();
    if (deleteObject) {
      try {
        await this.statusChain;
        await this.ctx.kube.delete(apiPath('v1', 'pods', this.ns, this.name), { gracePeriodSeconds: 0, uid: this.uid });
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'removing the pod object failed');
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    this.onGone(this.uid);
  }

  private async teardown(): Promise<void> {
    if (this.tornDown) return;
    await Promise.all([...this.inflight]);
    // wait for containers still running (a finished pod's may be exiting) and their cgroups
    for (const c of this.containers.values()) if (c.proc) await c.proc.exited;
    await sleep(0);
    for (const c of this.containers.values()) await this.dropCgroups(c);
    this.tornDown = true;
    if (this.volumeSync) clearInterval(this.volumeSync);
    if (this.network) {
      await deletePodNetwork(this.ctx.stateDir, this.network);
      this.ctx.ipam?.release(this.network.ip);
    }
    if (this.ctx.isRoot) {
      const qos = qosClass([...(this.pod.spec?.containers ?? []), ...(this.pod.spec?.initContainers ?? [])]);
      await killAndRemoveCgroups(podCgroupDirs(this.ctx.hierarchies, qos, this.uid));
    }
  }

  private record(type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.ctx.event({ ...this.pod, apiVersion: 'v1', kind: 'Pod' }, type, reason, message);
  }

  // ---- status ------------------------------------------------------------------------------

  private condition(type: string, status: boolean, reason?: string): V1PodCondition {
    const s = status ? 'True' : 'False';
    const prev = this.conditionTimes.get(type);
    const time = prev && prev.status === s ? prev.time : now();
    this.conditionTimes.set(type, { status: s, time });
    const c: V1PodCondition = { type, status: s, lastProbeTime: null as unknown as Date, lastTransitionTime: time as unknown as Date };
    if (reason) c.reason = reason;
    return c;
  }

  buildStatus(): Record<string, unknown> {
    const regular = [...this.containers.values()].filter((c) => !c.init);
    const inits = [...this.containers.values()].filter((c) => c.init);
    if (!this.finished) {
      this.phase = regular.some((c) => c.proc || (c.started && !c.done)) ? 'Running' : 'Pending';
    }
    const allReady = !this.finished && regular.every((c) => c.proc && c.ready);
    const notReadyReason = this.finished ? 'PodCompleted' : 'ContainersNotReady';
    const cs = (c: ContainerRun): V1ContainerStatus => ({
      name: c.spec.name,
      image: c.spec.image ?? '',
      imageID: c.spec.image ? `devcluster://${c.spec.image}` : '',
      containerID: c.containerID ? `containerd://${c.containerID}` : undefined,
      ready: !!c.proc && c.ready,
      started: !!c.proc,
      restartCount: c.restartCount,
      state: c.state,
      lastState: c.lastState ?? {},
    });
    const ip = this.podIP;
    const status: Record<string, unknown> = {
      phase: this.phase,
      hostIP: this.ctx.hostIP,
      hostIPs: [{ ip: this.ctx.hostIP }],
      podIP: ip ?? null,
      podIPs: ip ? [{ ip }] : null,
      startTime: this.startTime,
      qosClass: qosClass([...(this.pod.spec?.containers ?? []), ...(this.pod.spec?.initContainers ?? [])]),
      conditions: [
        this.condition('PodReadyToStartContainers', !!ip && !this.tornDown),
        this.condition('Initialized', this.initialized || inits.length === 0, this.initialized || inits.length === 0 ? undefined : 'ContainersNotInitialized'),
        this.condition('Ready', allReady, allReady ? undefined : notReadyReason),
        this.condition('ContainersReady', allReady, allReady ? undefined : notReadyReason),
        this.condition('PodScheduled', true),
      ],
      containerStatuses: regular.map(cs),
    };
    if (inits.length) status.initContainerStatuses = inits.map(cs);
    if (this.reason) status.reason = this.reason;
    if (this.message) status.message = this.message;
    return status;
  }

  /** Queues a status write; writes coalesce, and one runs at a time per pod. */
  pushStatus(): void {
    if (this.statusDirty) return;
    this.statusDirty = true;
    this.statusChain = this.statusChain.then(async () => {
      this.statusDirty = false;
      const status = this.buildStatus();
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await this.ctx.kube.mergePatch(apiPath('v1', 'pods', this.ns, this.name, 'status'), { status });
          return;
        } catch (e) {
          const code = (e as { code?: number }).code;
          if (code === 404) return; // the pod is gone
          if (attempt === 4) this.log.warn({ err: (e as Error).message }, 'pod status update failed');
          await sleep(100 * (attempt + 1));
        }
      }
    });
  }

  async flushStatus(): Promise<void> {
    await this.statusChain;
  }
}
