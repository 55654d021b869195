import { listCaptureDevices, type DeviceSection } from '../capture/capture-devices.js';
import type { ResolvedConfig } from '../config/resolve-config.js';
import { configuredFfmpeg, locateConfiguredFfmpeg } from '../recorder/ffmpeg-locator.js';
import { devicesJson, formatJson } from './json-output.js';
import type { Surroundings } from './surroundings.js';

export interface DevicesCommandOptions {
  resolved: ResolvedConfig;
  json: boolean;
}

/** `echolog devices`: the capture devices by name, the default marked. Exit 1 when none is found. */
export async function devicesCommand(options: DevicesCommandOptions, surroundings: Surroundings): Promise<number> {
  const { config, settings } = options.resolved;
  const ffmpeg = await locateConfiguredFfmpeg(configuredFfmpeg(config.ffmpeg.path, settings['ffmpeg.path']?.[0]?.source), surroundings.env);
  const sections = await listCaptureDevices(ffmpeg.path, surroundings.env);
  surroundings.stdout.write(options.json ? formatJson(devicesJson(sections)) : formatDevices(sections));
  for (const section of sections) if (section.problem) surroundings.stderr.write(`echolog: ${section.format}: ${section.problem}\n`);
  return sections.some((s) => s.devices.length > 0) ? 0 : 1;
}

/** Pure: one block per input format, `*` before the default, and the flags that record a device. */
export function formatDevices(sections: readonly DeviceSection[]): string {
  const lines: string[] = [];
  for (const section of sections) {
    lines.push(`${section.format}:`);
    if (section.devices.length === 0) lines.push(`  (none${section.problem ? `: ${section.problem}` : ''})`);
    const width = Math.max(0, ...section.devices.map((d) => d.name.length));
    for (const device of section.devices) {
      lines.push(
        `${device.isDefault ? '*' : ' '} ${device.name.padEnd(width)}  ${device.description}${device.isDefault ? ' (default)' : ''}`,
      );
    }
  }
  const example = sections.flatMap((s) => s.devices).find((d) => d.isDefault) ?? sections.flatMap((s) => s.devices)[0];
  if (example) lines.push('', `Record one with: echolog record --input-format ${example.format} --input ${shellWord(example.name)}`);
  return `${lines.join('\n')}\n`;
}

function shellWord(word: string): string {
  return /^[\w.:=@/-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}
