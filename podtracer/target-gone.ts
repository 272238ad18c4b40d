// Whether the target went away. While the tool runs, podtracer checks the target's process every
// --target-poll (capture.ts) and stops the tool when it is gone. A deleted pod often beats that
// check: the kubelet stops the pod's containers, then removes its network (the veth), and a tool
// bound to the interface fails at once (tcpdump exits 1, "The interface disappeared"). So when
// the tool fails on its own, podtracer asks once more, then and there: is the target process gone,
// and (when the pod was read from the Kubernetes API) is the pod deleted, being deleted or
// replaced by another of the same name? Either makes the end `target-gone`, a normal end whose
// output is stored and which the Job does not retry (podtracer/README.md, "Stopping").
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTime } from '../lib/proc.js';

/** The target process as it was when the capture started. */
export class TargetProcess {
  private readonly startTime: string | undefined;
  private readonly dir: string;

  constructor(
    readonly procRoot: string,
    readonly pid: number,
  ) {
    this.startTime = processStartTime(pid, procRoot);
    this.dir = join(procRoot, String(pid));
  }

  /** Its /proc entry is gone, or the PID now names another process (another start time). */
  gone(): boolean {
    return this.startTime === undefined ? !existsSync(this.dir) : processStartTime(this.pid, this.procRoot) !== this.startTime;
  }
}

/** How long the pod read may take before the answer counts as unknown. */
const POD_READ_TIMEOUT_MS = 10_000;

export type PodPresence = { gone: true; why: string } | { gone: false; why?: string };

/**
 * The target pod as the Kubernetes API (in-cluster or KUBECONFIG) shows it now: gone when it is
 * not found, has another UID (a new pod of the same name), or carries a deletionTimestamp. An API
 * that cannot be read tells nothing (`gone: false`, with why).
 */
export async function podPresence(namespace: string, name: string, uid: string, timeoutMs = POD_READ_TIMEOUT_MS): Promise<PodPresence> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  const api = kc.makeApiClient(k8s.CoreV1Api);
  let timer: NodeJS.Timeout | undefined;
  // an API server that does not answer must not hold up the uploads (and the Job's deadline)
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const pod = await Promise.race([api.readNamespacedPod({ name, namespace }), timeout]);
    if (uid !== '' && pod.metadata?.uid !== undefined && pod.metadata.uid !== uid) return { gone: true, why: `pod ${namespace}/${name} was replaced (uid ${pod.metadata.uid})` };
    if (pod.metadata?.deletionTimestamp) return { gone: true, why: `pod ${namespace}/${name} is being deleted` };
    return { gone: false };
  } catch (err) {
    if ((err as { code?: number }).code === 404) return { gone: true, why: `pod ${namespace}/${name} not found` };
    return { gone: false, why: `cannot read pod ${namespace}/${name}: ${(err as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}
