// HTTP/2 receive windows of the collector's gRPC port. Node's defaults are 64 KiB for each stream
// and 64 KiB for the whole connection, and nghttp2 sends a WINDOW_UPDATE each time half a window
// has been read: with 20 uploads sharing one connection that is a write (and, on the sender, a
// wake-up) for every ~32 KiB received, about as many writev calls as socket reads. The collector
// spent ~0.5 CPU s per GiB on them (a bare grpc-js server receiving 20 × 32 MiB: 2.1–2.2 → 1.5–1.7
// s/GiB with the windows below, strace: writev count ≈ read count before). grpc-js has no server
// option for either window, so they are set on each HTTP/2 session as it opens.
//
// Memory: a paused upload (storage behind, or waiting for part-buffer budget) lets its client send
// at most one stream window more before HTTP/2 flow control holds it, and the connection window
// bounds all streams of one client together.
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type * as grpc from '@grpc/grpc-js';

export interface ReceiveWindows {
  /** Per stream (SETTINGS_INITIAL_WINDOW_SIZE). */
  streamBytes: number;
  /** Per connection (the connection-level window, raised with a WINDOW_UPDATE). */
  connectionBytes: number;
}

export const COLLECTOR_RECEIVE_WINDOWS: ReceiveWindows = { streamBytes: 256 * 1024, connectionBytes: 4 * 1024 * 1024 };

/**
 * Applies `windows` to every HTTP/2 session the server accepts from now on; call it once the
 * server is bound (grpc-js creates its HTTP/2 servers in bindAsync). Returns how many HTTP/2
 * servers it found: 0 means grpc-js keeps them elsewhere now (its `http2Servers` map is not public
 * API) and the defaults stay — slower, not wrong; the test of this module then fails.
 */
export function widenReceiveWindows(server: grpc.Server, windows: ReceiveWindows): number {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) return 0;
  let found = 0;
  for (const h2 of servers.keys() as IterableIterator<Http2Server>) {
    if (typeof h2?.on !== 'function') continue;
    found++;
    h2.on('session', (session: ServerHttp2Session) => {
      try {
        session.settings({ initialWindowSize: windows.streamBytes });
        session.setLocalWindowSize(windows.connectionBytes);
      } catch {
        // A session destroyed as it opened: nothing to widen.
      }
    });
  }
  return found;
}
