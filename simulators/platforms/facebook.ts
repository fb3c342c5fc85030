import { type Clock, PlatformSim } from '../core.ts';

// TODO(helper): Facebook simulator.
export function createFacebookSim(clock: Clock) {
  const sim = new PlatformSim(clock, {
    id: 'facebook',
    clientId: 'sim-facebook-client',
    clientSecret: 'sim-facebook-secret',
    policy: { accessTtlS: 3600, refreshTtlS: null, rotate: false, refreshExtends: true, minRefreshAgeS: 0, codeTtlS: 600 },
    tokenPrefix: { access: 'a', refresh: 'r' },
    throttle: () => ({ status: 429 }),
    serverError: (_sim, status) => ({ status }),
  });
  const seed = () => {
    sim.addAccount({ id: '1', name: 'Facebook account' });
  };
  return { sim, seed };
}
