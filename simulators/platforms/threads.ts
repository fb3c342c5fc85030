import { type Clock, PlatformSim } from '../core.ts';

// TODO(helper): Threads simulator.
export function createThreadsSim(clock: Clock) {
  const sim = new PlatformSim(clock, {
    id: 'threads',
    clientId: 'sim-threads-client',
    clientSecret: 'sim-threads-secret',
    policy: { accessTtlS: 3600, refreshTtlS: null, rotate: false, refreshExtends: true, minRefreshAgeS: 0, codeTtlS: 600 },
    tokenPrefix: { access: 'a', refresh: 'r' },
    throttle: () => ({ status: 429 }),
    serverError: (_sim, status) => ({ status }),
  });
  const seed = () => {
    sim.addAccount({ id: '1', name: 'Threads account' });
  };
  return { sim, seed };
}
