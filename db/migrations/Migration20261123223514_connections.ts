import { Migration } from '@mikro-orm/migrations';

export class Migration20261123223514_connections extends Migration {
  override name = 'Migration20261123223514_connections';

  override up(): void {
    this.addSql(
      'create table "user_identities" ("id" uuid not null, "user_id" uuid not null, "provider" varchar(16) not null, "subject" varchar(255) not null, "created_at" timestamptz not null, primary key ("id"));',
    );
    this.addSql('create index "user_identities_user_id_index" on "user_identities" ("user_id");');
    this.addSql(
      'alter table "user_identities" add constraint "user_identities_provider_subject_unique" unique ("provider", "subject");',
    );
    this.addSql(
      'create table "oauth_states" ("id" uuid not null, "purpose" text not null, "state_hash" varchar(64) not null, "provider" varchar(16) not null, "user_id" uuid null, "workspace_id" uuid null, "verifier_ciphertext" text null, "nonce_hash" varchar(64) null, "code_ciphertext" text null, "tokens_ciphertext" text null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "consumed_at" timestamptz null, "completed_at" timestamptz null, "connection_id" uuid null, "error_code" varchar(64) null, primary key ("id"));',
    );
    this.addSql('alter table "oauth_states" add constraint "oauth_states_state_hash_unique" unique ("state_hash");');
    this.addSql('create index "oauth_states_user_id_index" on "oauth_states" ("user_id");');
    this.addSql('create index "oauth_states_workspace_id_index" on "oauth_states" ("workspace_id");');
    this.addSql(
      'create table "connections" ("id" uuid not null, "workspace_id" uuid not null, "platform" text not null, "external_id" varchar(200) not null, "display_name" varchar(200) not null, "handle" varchar(200) null, "external_ids" jsonb null, "status" text not null default \'active\', "status_reason" varchar(300) null, "scopes" jsonb not null, "token_expires_at" timestamptz null, "refresh_expires_at" timestamptz null, "token_issued_at" timestamptz not null, "last_refreshed_at" timestamptz null, "connected_by_id" uuid null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "disconnected_at" timestamptz null, "revoke_outcome" text null, "revoke_detail" varchar(300) null, primary key ("id"));',
    );
    this.addSql('create index "connections_workspace_id_index" on "connections" ("workspace_id");');
    this.addSql(
      'alter table "connections" add constraint "connections_workspace_id_platform_external_id_unique" unique ("workspace_id", "platform", "external_id");',
    );
    this.addSql(
      'create table "notices" ("id" uuid not null, "workspace_id" uuid not null, "connection_id" uuid null, "kind" varchar(64) not null, "message" varchar(500) not null, "created_at" timestamptz not null, "read_at" timestamptz null, primary key ("id"));',
    );
    this.addSql('create index "notices_workspace_id_index" on "notices" ("workspace_id");');
    this.addSql('create index "notices_connection_id_index" on "notices" ("connection_id");');
    this.addSql(
      'create table "connection_tokens" ("connection_id" uuid not null, "ciphertext" text not null, "key_id" varchar(32) not null, "version" int not null default 1, "updated_at" timestamptz not null, primary key ("connection_id"));',
    );
    this.addSql('create index "connection_tokens_key_id_index" on "connection_tokens" ("key_id");');
    this.addSql(
      'alter table "user_identities" add constraint "user_identities_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "oauth_states" add constraint "oauth_states_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "oauth_states" add constraint "oauth_states_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "oauth_states" add constraint "oauth_states_purpose_check" check ("purpose" in (\'connect\', \'sign_in\'));',
    );
    this.addSql(
      'alter table "connections" add constraint "connections_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "connections" add constraint "connections_connected_by_id_foreign" foreign key ("connected_by_id") references "users" ("id") on delete set null;',
    );
    this.addSql(
      "alter table \"connections\" add constraint \"connections_platform_check\" check (\"platform\" in ('youtube', 'instagram', 'facebook', 'tiktok', 'linkedin', 'x', 'threads', 'whatsapp'));",
    );
    this.addSql(
      "alter table \"connections\" add constraint \"connections_status_check\" check (\"status\" in ('active', 'needs_reconnect', 'disconnecting', 'disconnected'));",
    );
    this.addSql(
      'alter table "connections" add constraint "connections_revoke_outcome_check" check ("revoke_outcome" in (\'revoked_upstream\', \'deleted_locally_only\', \'revoke_failed\'));',
    );
    this.addSql(
      'alter table "notices" add constraint "notices_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "notices" add constraint "notices_connection_id_foreign" foreign key ("connection_id") references "connections" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "connection_tokens" add constraint "connection_tokens_connection_id_foreign" foreign key ("connection_id") references "connections" ("id") on update cascade on delete cascade;',
    );
  }

  override down(): void {
    this.addSql('alter table "notices" drop constraint "notices_connection_id_foreign";');
    this.addSql('alter table "connection_tokens" drop constraint "connection_tokens_connection_id_foreign";');
    this.addSql('drop table if exists "user_identities" cascade;');
    this.addSql('drop table if exists "oauth_states" cascade;');
    this.addSql('drop table if exists "connections" cascade;');
    this.addSql('drop table if exists "notices" cascade;');
    this.addSql('drop table if exists "connection_tokens" cascade;');
  }
}
