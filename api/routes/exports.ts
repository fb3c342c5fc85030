import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

export const exportsRoutes: FastifyPluginAsyncTypebox = async (_app) => {};
