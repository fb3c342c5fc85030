// The platform simulators as a process (`npm start` runs it): SIMULATOR_PORT, default 4010.
import { startSimulator } from './server.ts';

const port = Number(process.env.SIMULATOR_PORT ?? 4010);
const sim = await startSimulator({ port, host: process.env.SIMULATOR_HOST ?? '127.0.0.1' });
console.log(JSON.stringify({ msg: 'simulators listening', url: sim.url, platforms: [...sim.platforms.keys()] }));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void sim.close().then(() => process.exit(0)));
}
