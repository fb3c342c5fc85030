import { type Clock, PlatformSim } from '../core.ts';

// TODO(helper): LinkedIn simulator.
export function createLinkedInSim(clock: Clock) {
  const sim = new PlatformSim(clock, {
    id: 'linkedin',
    clientId: 'sim-linkedin-client',
    clientSecret: 'sim-linkedin-secret',
    policy: { accessTtlS: 3600, refreshTtlS: null, rotate: false, refreshExtends: true, minRefreshAgeS: 0, codeTtlS: 600 },
    tokenPrefix: { access: 'a', refresh: 'r' },
    throttle: () => ({ status: 429 }),
    serverError: (_sim, status) => ({ status }),
  });
  const seed = () => {
    sim.addAccount({ id: '1', name: 'LinkedIn account' });
  };
  return { sim, seed };
}
