// Kubernetes Events (core v1) on the objects the operator reconciles, so `kubectl describe`
// shows what happened. Best effort: a failed event is logged, never retried.
import type { Logger } from '../../lib/log.js';
import { errorText, type Kube } from '../../lib/kube/client.js';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid?: string; resourceVersion?: string };
}

export class EventRecorder {
  /** Event writes not answered yet, for flush(). */
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly kube: Kube, private readonly component: string, private readonly logger: Logger, private readonly host = 'snoopy-operator') {}

  emit(obj: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const now = new Date();
    const ns = obj.metadata.namespace;
    const write = this.kube.core
      .createNamespacedEvent({
        namespace: ns,
        body: {
          metadata: { name: `${obj.metadata.name.slice(0, 230)}.${now.getTime().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`, namespace: ns },
          involvedObject: {
            apiVersion: obj.apiVersion,
            kind: obj.kind,
            name: obj.metadata.name,
            namespace: ns,
            ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
          },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component: this.component, host: this.host },
          reportingComponent: this.component,
          reportingInstance: this.host,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      })
      .then(
        () => undefined,
        (err: unknown) => this.logger.warn({ err: errorText(err), reason }, 'could not record event'),
      )
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
  }

  /** Resolves when every event emitted so far was written (or failed). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
