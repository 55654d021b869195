import path from 'node:path';
import { ConfigError } from '../errors.js';

/**
 * A config file's text as data: `.json` (and package.json) is JSON, everything else
 * (echolog.conf, `.echologrc`, `.yaml`/`.yml`, a --config file of any name) is YAML, never code.
 * A syntax error is a ConfigError pointing at file:line:column. An empty or comment-only
 * document is `undefined`.
 */
export async function parseConfigText(file: string, text: string): Promise<unknown> {
  return path.extname(file) === '.json' ? parseJson(file, text) : parseYaml(file, text);
}

/** js-yaml reports a syntax error with a 0-based `mark` and the offending lines as a `snippet`. */
interface YamlSyntaxError {
  reason: string;
  mark: { line: number; column: number; snippet?: string };
}

// Loaded only when a YAML file is read: most runs have none, and a quick command should not pay for the parser.
let jsYaml: Promise<typeof import('js-yaml')> | undefined;

async function parseYaml(file: string, text: string): Promise<unknown> {
  const { load } = await (jsYaml ??= import('js-yaml'));
  try {
    // The default schema: plain data, no tags that build objects or run code.
    return load(text, { filename: file }) ?? undefined;
  } catch (error) {
    const { reason, mark } = error as Partial<YamlSyntaxError>;
    if (reason === undefined || mark === undefined) throw error;
    const snippet = mark.snippet ? `\n${mark.snippet}` : '';
    throw new ConfigError(`${file}:${mark.line + 1}:${mark.column + 1}: invalid YAML: ${reason}${snippet}`);
  }
}

/** V8 only gives a character position: turned into line:column. */
function parseJson(file: string, text: string): unknown {
  const body = text.replace(/^\uFEFF/, '');
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    const message = (error as Error).message;
    const position = Number(/at position (\d+)/.exec(message)?.[1] ?? body.length);
    const before = body.slice(0, position).split('\n');
    throw new ConfigError(`${file}:${before.length}:${before.at(-1)!.length + 1}: invalid JSON: ${message}`);
  }
}
