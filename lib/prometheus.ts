// Merges several Prometheus text expositions into one, so the API's /metrics can include the
// workers' SDK metrics. Families with the same name are joined under one HELP/TYPE header.

interface Family {
  help?: string;
  type?: string;
  samples: string[];
}

const SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created', '_info'];

function familyOf(sampleName: string, known: Map<string, Family>): string {
  if (known.has(sampleName)) return sampleName;
  for (const suffix of SUFFIXES) {
    if (sampleName.endsWith(suffix)) {
      const base = sampleName.slice(0, -suffix.length);
      if (known.has(base)) return base;
    }
  }
  return sampleName;
}

export function mergeExpositions(texts: string[]): string {
  const families = new Map<string, Family>();
  const get = (name: string) => {
    let f = families.get(name);
    if (!f) {
      f = { samples: [] };
      families.set(name, f);
    }
    return f;
  };
  for (const text of texts) {
    for (const raw of text.split('\n')) {
      const line = raw.trimEnd();
      if (!line) continue;
      const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (meta) {
        const f = get(meta[2]!);
        if (meta[1] === 'HELP') f.help ??= line;
        else f.type ??= line;
        continue;
      }
      if (line.startsWith('#')) continue;
      const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
      if (!name) continue;
      const f = get(familyOf(name, families));
      if (!f.samples.includes(line)) f.samples.push(line);
    }
  }
  const out: string[] = [];
  for (const f of families.values()) {
    if (f.help) out.push(f.help);
    if (f.type) out.push(f.type);
    out.push(...f.samples);
  }
  return `${out.join('\n')}\n`;
}
