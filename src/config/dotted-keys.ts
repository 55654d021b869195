/** Config values addressed by dotted keys (`logging.level`), as users write them in errors and `echolog config`. */
export type DottedValues = Record<string, unknown>;

export function flattenToDotted(value: unknown, prefix = ''): DottedValues {
  if (!isPlainObject(value)) return prefix ? { [prefix]: value } : {};
  const out: DottedValues = {};
  for (const [key, child] of Object.entries(value)) {
    Object.assign(out, flattenToDotted(child, prefix ? `${prefix}.${key}` : key));
  }
  return out;
}

export function setDotted(target: Record<string, unknown>, dottedKey: string, value: unknown): void {
  const parts = dottedKey.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(node[part])) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
