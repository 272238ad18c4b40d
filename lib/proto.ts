// Loads the collector and legacy protos at run time with @grpc/proto-loader (no generated code
// to keep in sync) and gives the messages TypeScript shapes.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { repoPath } from './repo-root.js';

export function protoDir(): string {
  return repoPath('proto');
}

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export type FormatName = 'FORMAT_UNSPECIFIED' | 'FORMAT_PCAP' | 'FORMAT_PCAPNG' | 'FORMAT_TEXT' | 'FORMAT_EVIDENCE' | 'FORMAT_NODE_MANIFEST';

/** SegmentHeader as proto-loader presents it (camelCase, int64 as string, enum as name). */
export interface SegmentHeader {
  captureId: string;
  snoopyJob: string;
  snoopyJobNamespace: string;
  pod: string;
  podNamespace: string;
  podUid: string;
  node: string;
  container: string;
  command: string;
  args: string[];
  sequence: number;
  last: boolean;
  format: FormatName;
  startedUnixNanos: string;
  token: string;
}

/** The end marker: the client's count and digest of what it sent. */
export interface SegmentEnd {
  /** uint64 as a decimal string (proto-loader `longs: String`); a number is accepted when sending. */
  bytes: string | number;
  sha256: string;
}

export interface UploadRequest {
  header?: SegmentHeader;
  chunk?: Buffer;
  end?: SegmentEnd;
  part?: 'header' | 'chunk' | 'end';
}

export interface UploadResponse {
  bucket: string;
  key: string;
  bytes: string;
  sha256: string;
  uri: string;
}

export interface LegacyPodData {
  name: string;
  data: Buffer;
}

export interface CollectorPackage {
  collectorService: grpc.ServiceDefinition;
  CollectorClient: grpc.ServiceClientConstructor;
  legacyService: grpc.ServiceDefinition;
  LegacyClient: grpc.ServiceClientConstructor;
}

let cached: CollectorPackage | undefined;

export function loadCollectorProtos(): CollectorPackage {
  if (cached) return cached;
  const dir = protoDir();
  const def = protoLoader.loadSync(['snoopy/v1/collector.proto', 'snoopydataendpoint.proto'], {
    ...LOADER_OPTIONS,
    includeDirs: [dir],
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    snoopy: { v1: { Collector: grpc.ServiceClientConstructor } };
    protobuf: { DataEndpoint: grpc.ServiceClientConstructor };
  };
  cached = {
    collectorService: pkg.snoopy.v1.Collector.service,
    CollectorClient: pkg.snoopy.v1.Collector,
    legacyService: pkg.protobuf.DataEndpoint.service,
    LegacyClient: pkg.protobuf.DataEndpoint,
  };
  return cached;
}
