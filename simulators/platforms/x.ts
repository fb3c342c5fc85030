import { type Clock, PlatformSim } from '../core.ts';

// TODO(helper): X simulator.
export function createXSim(clock: Clock) {
  const sim = new PlatformSim(clock, {
    id: 'x',
    clientId: 'sim-x-client',
    clientSecret: 'sim-x-secret',
    policy: { accessTtlS: 3600, refreshTtlS: null, rotate: false, refreshExtends: true, minRefreshAgeS: 0, codeTtlS: 600 },
    tokenPrefix: { access: 'a', refresh: 'r' },
    throttle: () => ({ status: 429 }),
    serverError: (_sim, status) => ({ status }),
  });
  const seed = () => {
    sim.addAccount({ id: '1', name: 'X account' });
  };
  return { sim, seed };
}
