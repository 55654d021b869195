/**
 * Pure parsers of the capture-device listings echolog asks for: `pactl`, ffmpeg's `-sources`
 * (pulse, alsa), and ffmpeg's `-list_devices` (avfoundation, dshow). Tested on captured output in
 * test/fixtures/devices/.
 */
export interface CaptureDevice {
  /** The ffmpeg input format (`--input-format`). */
  format: 'pulse' | 'alsa' | 'avfoundation' | 'dshow';
  /** What `--input` takes. */
  name: string;
  description: string;
  isDefault: boolean;
}

/** `pactl list short sources`: index, name, module, sample spec, state, tab-separated. */
export function parsePactlSources(text: string, defaultSource: string | undefined): CaptureDevice[] {
  return text.split('\n').flatMap((line) => {
    const fields = line.split('\t');
    if (fields.length < 2 || !/^\d+$/.test(fields[0]!)) return [];
    const name = fields[1]!;
    return [
      { format: 'pulse' as const, name, description: [fields[3], fields[4]].filter(Boolean).join(', '), isDefault: name === defaultSource },
    ];
  });
}

/** The `Default Source:` of `pactl info`. */
export function parsePactlDefaultSource(text: string): string | undefined {
  return /^Default Source: (.+)$/m.exec(text)?.[1]?.trim();
}

/** ffmpeg's `-sources <format>`: `Auto-detected sources for pulse:`, then `* name [description] (types)`. */
export function parseFfmpegSources(text: string, format: 'pulse' | 'alsa'): CaptureDevice[] {
  return text.split('\n').flatMap((line) => {
    const match = /^([* ]) (\S+) \[(.*)\] \(([^)]*)\)\s*$/.exec(line);
    return match ? [{ format, name: match[2]!, description: match[3]!, isDefault: match[1] === '*' }] : [];
  });
}

/** Why ffmpeg could not list the sources (`Cannot list sources: …`), or undefined. */
export function ffmpegSourcesError(text: string): string | undefined {
  return /^Cannot list sources: (.+)$/m.exec(text)?.[1]?.trim();
}

/** `ffmpeg -f avfoundation -list_devices true -i ""`: the entries after `AVFoundation audio devices:`. */
export function parseAvfoundationDevices(text: string): CaptureDevice[] {
  const devices: CaptureDevice[] = [];
  let audio = false;
  for (const line of text.split('\n')) {
    const body = line.replace(/^(?:\[[^\]]* @ [0-9a-fA-Fx]+\] )?(?:\[info\] )?/, '');
    if (/^AVFoundation (?:video|audio) devices:/.test(body)) audio = body.startsWith('AVFoundation audio');
    const match = /^\[(\d+)\] (.+)$/.exec(body);
    // avfoundation takes `:<index>` or `:<name>` for an audio-only input.
    if (audio && match)
      devices.push({ format: 'avfoundation', name: `:${match[2]!.trim()}`, description: `index :${match[1]}`, isDefault: false });
  }
  return devices;
}

/** `ffmpeg -list_devices true -f dshow -i dummy`: the `"Name" (audio)` lines. */
export function parseDshowDevices(text: string): CaptureDevice[] {
  return text.split('\n').flatMap((line) => {
    const match = /^(?:\[[^\]]* @ [0-9a-fA-Fx]+\] )?(?:\[info\] )?"(.+)" \(audio\)\s*$/.exec(line);
    return match
      ? [{ format: 'dshow' as const, name: `audio=${match[1]!}`, description: 'DirectShow audio device', isDefault: false }]
      : [];
  });
}
