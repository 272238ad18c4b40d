// Whether the HTTP/2 stream under a grpc-js server call is already closed.
//
// When a client cancels (RST_STREAM), Node's HTTP/2 stream first ends its readable side, and grpc-js
// reports that as the client's half-close; the cancellation follows a few ticks later. At the moment
// the half-close is delivered the stream is already marked closed, while after a real half-close it
// stays open (the reply still has to go out). grpc-js itself checks exactly this before reading, but
// does not expose it to handlers, hence the walk through its (guarded) internals.

interface MaybeCall {
  call?: unknown;
  nextCall?: unknown;
  stream?: { closed?: unknown; destroyed?: unknown };
  cancelled?: unknown;
}

/**
 * True when the call is known to be cancelled or its transport stream closed. False when it cannot
 * be told (internals moved): callers must still handle a later 'cancelled' event.
 */
export function transportClosed(call: unknown): boolean {
  let node = call as MaybeCall | undefined;
  for (let depth = 0; depth < 8 && node && typeof node === 'object'; depth++) {
    if (node.cancelled === true) return true;
    const stream = node.stream;
    if (stream && typeof stream === 'object' && (stream.closed === true || stream.destroyed === true)) return true;
    node = (node.call ?? node.nextCall) as MaybeCall | undefined;
  }
  return false;
}
