// The collector's CloudEvents (docs/design.md "Events"). The collector is no Kubernetes object of its own: it
// stores segments on behalf of a SnoopyJob, so `source` is that SnoopyJob's path (the one Triggers
// and the analyzer already know), and `subject` the target pod.
import type { EventSink } from '../../lib/event-sink.js';
import { EventType, snoopyJobSource, targetSubject } from '../../lib/events.js';
import type { Logger } from '../../lib/log.js';
import type { SegmentHeader, UploadResponse } from '../../lib/proto.js';
import { captureTargetPrefix, parseSegmentKey } from '../../lib/storage-keys.js';
import type { SegmentStore } from './storage/store.js';

/**
 * Where the bucket lives, so a consumer (the analyzer) can read the objects of a collector with
 * other storage than its own. Never credentials: the consumer uses its own, and only for
 * endpoints it trusts.
 */
export interface StorageLocation {
  /** S3 endpoint URL; absent for AWS S3 */
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
}

/** Whose object it is: every collector event's data carries these. */
function targetData(h: SegmentHeader) {
  return {
    pod: h.pod,
    podNamespace: h.podNamespace,
    node: h.node,
    captureId: h.captureId,
    snoopyJob: h.snoopyJob,
    snoopyJobNamespace: h.snoopyJobNamespace,
  };
}

export class CollectorEvents {
  constructor(
    private readonly sink: EventSink,
    private readonly store: SegmentStore,
    private readonly prefix: string,
    private readonly log: Logger,
    /** S3 storage only; a local directory has no location worth sending */
    private readonly location?: StorageLocation,
  ) {}

  private envelope(h: SegmentHeader) {
    return {
      source: snoopyJobSource(h.snoopyJobNamespace, h.snoopyJob),
      subject: targetSubject(h.podNamespace, h.pod),
      extensions: {
        snoopyjob: h.snoopyJob,
        snoopyns: h.snoopyJobNamespace,
        targetpod: h.pod,
        targetns: h.podNamespace,
        node: h.node,
      },
    };
  }

  /** What segment.stored and evidence.stored both say: where the object is, and whose it is. */
  private storedData(h: SegmentHeader, reply: UploadResponse) {
    return {
      bucket: reply.bucket,
      ...(this.location ? { storage: this.location } : {}),
      key: reply.key,
      uri: reply.uri,
      bytes: Number(reply.bytes),
      sha256: reply.sha256,
      ...targetData(h),
    };
  }

  /** segment.stored, or evidence.stored for the target's evidence object (lib/evidence). */
  segmentStored(h: SegmentHeader, reply: UploadResponse): void {
    if (h.format === 'FORMAT_EVIDENCE') {
      this.sink.emit({ type: EventType.EvidenceStored, ...this.envelope(h), data: this.storedData(h, reply) });
      return;
    }
    this.sink.emit({
      type: EventType.SegmentStored,
      ...this.envelope(h),
      data: { ...this.storedData(h, reply), sequence: h.sequence, last: h.last, format: h.format },
    });
  }

  /**
   * Lists the target's capture in storage rather than remembering keys in memory, so the event is
   * complete whichever replica stored the earlier segments, and across restarts.
   */
  async captureCompleted(h: SegmentHeader): Promise<void> {
    const prefix = captureTargetPrefix({
      prefix: this.prefix,
      snoopyJobNamespace: h.snoopyJobNamespace,
      snoopyJob: h.snoopyJob,
      captureId: h.captureId,
      podNamespace: h.podNamespace,
      pod: h.pod,
    });
    let keys: string[];
    try {
      keys = (await this.store.list(prefix)).filter((k) => parseSegmentKey(k) !== undefined).sort();
    } catch (err) {
      this.log.error({ err: String(err), prefix }, 'capture.completed not sent: listing the capture failed');
      return;
    }
    this.sink.emit({
      type: EventType.CaptureCompleted,
      ...this.envelope(h),
      data: {
        bucket: this.store.bucket,
        ...(this.location ? { storage: this.location } : {}),
        prefix,
        keys,
        uris: keys.map((k) => this.store.uri(k)),
        segments: keys.length,
        lastSequence: h.sequence,
        ...targetData(h),
      },
    });
  }
}
