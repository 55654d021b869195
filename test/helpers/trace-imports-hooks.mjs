// Module customization hooks (https://nodejs.org/api/module.html#customization-hooks): runs in the
// loader thread, so it writes the trace to a file rather than to the process's own streams.
import fs from 'node:fs';

export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  const out = process.env.ECHOLOG_TRACE_IMPORTS;
  if (out) fs.appendFileSync(out, `${result.url}\n`);
  return result;
}
