import { readdirSync, readFileSync } from 'node:fs';
export function cpuByComm(): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const t = (Number(f[11]) + Number(f[12])) / 100;
        const pcomm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        const key = `${pcomm}/${comm.replace(/[0-9]+/g, '#')}`;
        out.set(key, (out.get(key) ?? 0) + t);
      }
    } catch {}
  }
  return out;
}
export function diff(a: Map<string, number>, b: Map<string, number>): string {
  const rows = [...b].map(([k, v]) => [k, v - (a.get(k) ?? 0)] as const).filter(([, v]) => v > 0.02).sort((x, y) => y[1] - x[1]);
  return rows.map(([k, v]) => `${k} ${v.toFixed(2)}`).join('\n    ');
}
