import { type Clock, PlatformSim } from '../core.ts';

// TODO(helper): WhatsApp simulator.
export function createWhatsAppSim(clock: Clock) {
  const sim = new PlatformSim(clock, {
    id: 'whatsapp',
    clientId: 'sim-whatsapp-client',
    clientSecret: 'sim-whatsapp-secret',
    policy: { accessTtlS: 3600, refreshTtlS: null, rotate: false, refreshExtends: true, minRefreshAgeS: 0, codeTtlS: 600 },
    tokenPrefix: { access: 'a', refresh: 'r' },
    throttle: () => ({ status: 429 }),
    serverError: (_sim, status) => ({ status }),
  });
  const seed = () => {
    sim.addAccount({ id: '1', name: 'WhatsApp account' });
  };
  return { sim, seed };
}
