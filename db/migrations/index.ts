import { Migration20261123204153_initial } from './Migration20261123204153_initial.ts';

// Every committed migration, in order. `npm run migration:create` writes new ones; add them here.
export const migrationsList = [Migration20261123204153_initial];
