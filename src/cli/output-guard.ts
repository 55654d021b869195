import type { Writable } from 'node:stream';

export type OutputName = 'stdout' | 'stderr';

export interface OutputClosed {
  stream: OutputName;
  /** The write error's code (EPIPE when the reader went away, EIO for a gone terminal). */
  code: string;
}

export interface OutputWatch {
  /** True once `name` failed a write: it is no longer written to. */
  isClosed(name: OutputName): boolean;
  /** Called once per stream that closes; returns the unsubscribe. */
  onClosed(listener: (closed: OutputClosed) => void): () => void;
}

/**
 * stdout and stderr are a courtesy to whoever watches: when the reader goes away
 * (`echolog record 2>&1 | head -1`, a closed terminal) a write fails with EPIPE or EIO, and
 * Node emits it as an 'error' that, unheard, becomes an uncaught exception whose handler writes
 * to stderr again: a loop. From a stream's first write error on, every later write to it is
 * dropped (its `write` is replaced on the instance, so ora, commander and the session log's
 * fallback are covered as well as echolog's own lines), and listeners hear it once. No error
 * path can then fail the same way and re-enter itself; the work (a recording) goes on.
 */
export function guardOutputStreams(streams: Record<OutputName, Writable>): OutputWatch {
  const closed = new Map<OutputName, string>();
  const listeners = new Set<(closed: OutputClosed) => void>();
  for (const name of ['stdout', 'stderr'] as const) {
    const stream = streams[name];
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((...args: unknown[]): boolean => {
      if (!closed.has(name)) return write(...args);
      // Dropped: a caller waiting for the callback still gets it (with no error: nothing is owed).
      const callback = args.find((arg): arg is () => void => typeof arg === 'function');
      if (callback) queueMicrotask(callback);
      return true;
    }) as Writable['write'];
    // Every write already under way when the first one failed reports again: heard once.
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (closed.has(name)) return;
      const code = error.code ?? error.message;
      closed.set(name, code);
      for (const listener of listeners) listener({ stream: name, code });
    });
  }
  return {
    isClosed: (name) => closed.has(name),
    onClosed(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
