import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

export const metaRoutes: FastifyPluginAsyncTypebox = async (_app) => {};
