/**
 * The session.log line: `YYYY-MM-DDTHH:MM:SSZ LEVEL logger: message key=value ...`
 * Every line parses back into its fields (see parseLogLine): values with spaces, quotes,
 * `=` or newlines are double-quoted with JSON escapes, so one event is always one line.
 */
export type LevelName = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
export type FieldValue = string | number | boolean | null | undefined;
export type LogFields = Record<string, FieldValue>;

export interface LogRecord {
  time: Date;
  level: LevelName;
  logger: string;
  message: string;
  fields?: LogFields;
}

export function formatTimestamp(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `20261122T032502Z`: the timestamp for file and session names (no `:`, sorts by time). */
export function compactTimestamp(time: Date): string {
  return formatTimestamp(time).replace(/[-:]/g, '');
}

export function formatValue(value: FieldValue): string {
  if (value === undefined || value === null) return '""';
  const text = typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(3) : String(value);
  return /^[^\s"'=\\]+$/.test(text) ? text : quoteValue(text);
}

/**
 * JSON-style double quotes, except that a backslash is doubled only where it would read as an
 * escape (before `"`, `\`, an escape letter, or at the end): ffmpeg's `\:` in a logged command
 * stays `\:`, so the command pastes as is. parseLogLine reads plain JSON escapes too.
 */
function quoteValue(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') out += /^["\\/bfnrtu]?$/.test(text[i + 1] ?? '') ? '\\\\' : '\\';
    else if (c === '"' || c < ' ') out += JSON.stringify(c).slice(1, -1);
    else out += c;
  }
  return `"${out}"`;
}

/** The inverse of quoteValue: JSON escapes are decoded, any other backslash is itself. */
function unquoteValue(raw: string): string {
  return raw.slice(1, -1).replace(/\\(u[0-9a-fA-F]{4}|["\\/bfnrt])/g, (escape) => JSON.parse(`"${escape}"`) as string);
}

export function formatLogLine(record: LogRecord): string {
  const fields = Object.entries(record.fields ?? {})
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => ` ${key}=${formatValue(value)}`)
    .join('');
  const message = record.message.replace(/[\r\n]+/g, ' ');
  return `${formatTimestamp(record.time)} ${record.level} ${record.logger}: ${message}${fields}`;
}

export interface ParsedLogLine {
  timestamp: string;
  level: LevelName;
  logger: string;
  message: string;
  fields: Record<string, string>;
}

const LINE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z) (DEBUG|INFO|WARNING|ERROR) ([\w.-]+): (.*)$/;
const FIELD = / ([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|[^\s"'=\\]+)/y;

/** Splits a line back into its parts; the message is what precedes the trailing key=value fields. */
export function parseLogLine(line: string): ParsedLogLine | undefined {
  const match = LINE.exec(line);
  if (!match) return undefined;
  const rest = match[4]!;
  // Fields are the longest run of ` key=value` pairs that reaches the end of the line.
  for (let start = 0; start <= rest.length; start++) {
    if (start < rest.length && rest[start] !== ' ') continue;
    const fields = parseFields(rest, start);
    if (fields) {
      return { timestamp: match[1]!, level: match[2] as LevelName, logger: match[3]!, message: rest.slice(0, start), fields };
    }
  }
  return undefined;
}

function parseFields(text: string, start: number): Record<string, string> | undefined {
  const fields: Record<string, string> = {};
  FIELD.lastIndex = start;
  let position = start;
  while (position < text.length) {
    FIELD.lastIndex = position;
    const match = FIELD.exec(text);
    if (!match) return undefined;
    const raw = match[2]!;
    fields[match[1]!] = raw.startsWith('"') ? unquoteValue(raw) : raw;
    position = FIELD.lastIndex;
  }
  return fields;
}
