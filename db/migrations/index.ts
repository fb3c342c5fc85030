import { Migration20261123204153_initial } from './Migration20261123204153_initial.ts';
import { Migration20261123223514_connections } from './Migration20261123223514_connections.ts';
import { Migration20261123230939_privacy } from './Migration20261123230939_privacy.ts';
import { Migration20261124012757_publishing } from './Migration20261124012757_publishing.ts';
import { Migration20261124045308_sync } from './Migration20261124045308_sync.ts';
import { Migration20261124063342_media } from './Migration20261124063342_media.ts';

// Every committed migration, in order. `npm run migration:create` writes new ones; add them here.
export const migrationsList = [
  Migration20261123204153_initial,
  Migration20261123223514_connections,
  Migration20261123230939_privacy,
  Migration20261124012757_publishing,
  Migration20261124045308_sync,
  Migration20261124063342_media,
];
