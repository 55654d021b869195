export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/**
 * The one place echolog takes over the stop signals. While a command has something to finish first (a session
 * to stop with `session_stop`, a daemon to end, an export's temp file to remove), `handler` gets the signals
 * instead of Node dying at once; each may come more than once. Returns the function that gives them back.
 */
export function takeStopSignals<S extends StopSignal>(signals: readonly S[], handler: (signal: S) => void): () => void {
  const listeners = signals.map((signal) => [signal, () => handler(signal)] as const);
  for (const [signal, listener] of listeners) process.on(signal, listener);
  return () => {
    for (const [signal, listener] of listeners) process.off(signal, listener);
  };
}
