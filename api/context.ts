import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client, Connection } from '@temporalio/client';
import type { Config } from '../lib/config.ts';
import type { Adapters } from '../platforms/index.ts';

export interface AppDeps {
  config: Config;
  orm: MikroORM;
  temporal: Client;
  /** The client's own connection, for health checks (Client exposes only an interface of it). */
  temporalConnection: Connection;
}

export interface Principal {
  userId: string;
  kind: 'session' | 'api';
  /** Session or API-token id. */
  credentialId: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: AppDeps;
    adapters: Adapters;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Route answers without a bearer token. */
    public?: boolean;
    /** Route is left out of the request log (health checks, metrics, docs). */
    skipRequestLog?: boolean;
  }
}
