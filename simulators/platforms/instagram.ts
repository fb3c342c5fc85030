import { type Clock, PlatformSim } from '../core.ts';

// TODO(helper): Instagram simulator.
export function createInstagramSim(clock: Clock) {
  const sim = new PlatformSim(clock, {
    id: 'instagram',
    clientId: 'sim-instagram-client',
    clientSecret: 'sim-instagram-secret',
    policy: { accessTtlS: 3600, refreshTtlS: null, rotate: false, refreshExtends: true, minRefreshAgeS: 0, codeTtlS: 600 },
    tokenPrefix: { access: 'a', refresh: 'r' },
    throttle: () => ({ status: 429 }),
    serverError: (_sim, status) => ({ status }),
  });
  const seed = () => {
    sim.addAccount({ id: '1', name: 'Instagram account' });
  };
  return { sim, seed };
}
