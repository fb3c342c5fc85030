import { type Clock, PlatformSim } from '../core.ts';

// TODO(helper): TikTok simulator.
export function createTikTokSim(clock: Clock) {
  const sim = new PlatformSim(clock, {
    id: 'tiktok',
    clientId: 'sim-tiktok-client',
    clientSecret: 'sim-tiktok-secret',
    policy: { accessTtlS: 3600, refreshTtlS: null, rotate: false, refreshExtends: true, minRefreshAgeS: 0, codeTtlS: 600 },
    tokenPrefix: { access: 'a', refresh: 'r' },
    throttle: () => ({ status: 429 }),
    serverError: (_sim, status) => ({ status }),
  });
  const seed = () => {
    sim.addAccount({ id: '1', name: 'TikTok account' });
  };
  return { sim, seed };
}
