import { Migration } from '@mikro-orm/migrations';

export class Migration20261123204153_initial extends Migration {
  override name = 'Migration20261123204153_initial';

  override up(): void {
    this.addSql(
      'create table "audit_events" ("id" bigserial primary key, "at" timestamptz not null, "action" varchar(64) not null, "actor_id" uuid null, "workspace_id" uuid null, "target_type" varchar(32) null, "target_id" varchar(64) null, "request_id" varchar(64) null, "details" jsonb null);',
    );
    this.addSql('create index "audit_events_at_index" on "audit_events" ("at");');
    this.addSql('create index "audit_events_actor_id_index" on "audit_events" ("actor_id");');
    this.addSql('create index "audit_events_workspace_id_index" on "audit_events" ("workspace_id");');
    this.addSql(
      'create table "login_throttles" ("key" varchar(80) not null, "failures" int not null default 0, "window_started_at" timestamptz not null, "next_allowed_at" timestamptz null, "locked_until" timestamptz null, "updated_at" timestamptz not null, primary key ("key"));',
    );
    this.addSql(
      'create table "users" ("id" uuid not null, "email" varchar(254) not null, "name" varchar(200) not null, "password_hash" varchar(100) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));',
    );
    this.addSql('alter table "users" add constraint "users_email_unique" unique ("email");');
    this.addSql(
      'create table "sessions" ("id" uuid not null, "user_id" uuid not null, "token_hash" varchar(64) not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "revoked_at" timestamptz null, primary key ("id"));',
    );
    this.addSql('create index "sessions_user_id_index" on "sessions" ("user_id");');
    this.addSql('alter table "sessions" add constraint "sessions_token_hash_unique" unique ("token_hash");');
    this.addSql(
      'create table "request_logs" ("id" bigserial primary key, "at" timestamptz not null, "request_id" varchar(64) not null, "ip" varchar(64) not null, "user_agent" varchar(512) null, "method" varchar(10) not null, "path" varchar(512) not null, "status" int not null, "duration_ms" int not null, "user_id" uuid null);',
    );
    this.addSql('create index "request_logs_at_index" on "request_logs" ("at");');
    this.addSql('create index "request_logs_user_id_index" on "request_logs" ("user_id");');
    this.addSql(
      'create table "api_tokens" ("id" uuid not null, "user_id" uuid not null, "name" varchar(100) not null, "token_hash" varchar(64) not null, "hint" varchar(12) not null, "created_at" timestamptz not null, "expires_at" timestamptz null, "last_used_at" timestamptz null, "revoked_at" timestamptz null, primary key ("id"));',
    );
    this.addSql('create index "api_tokens_user_id_index" on "api_tokens" ("user_id");');
    this.addSql('alter table "api_tokens" add constraint "api_tokens_token_hash_unique" unique ("token_hash");');
    this.addSql(
      'create table "workspaces" ("id" uuid not null, "name" varchar(100) not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));',
    );
    this.addSql(
      'create table "memberships" ("id" uuid not null, "workspace_id" uuid not null, "user_id" uuid not null, "role" text not null, "created_at" timestamptz not null, primary key ("id"));',
    );
    this.addSql('create index "memberships_user_id_index" on "memberships" ("user_id");');
    this.addSql(
      'alter table "memberships" add constraint "memberships_workspace_id_user_id_unique" unique ("workspace_id", "user_id");',
    );
    this.addSql(
      'create table "invitations" ("id" uuid not null, "workspace_id" uuid not null, "email" varchar(254) not null, "role" text not null, "token_hash" varchar(64) not null, "status" text not null default \'pending\', "invited_by_id" uuid null, "accepted_by_id" uuid null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "decided_at" timestamptz null, primary key ("id"));',
    );
    this.addSql('create index "invitations_workspace_id_index" on "invitations" ("workspace_id");');
    this.addSql('alter table "invitations" add constraint "invitations_token_hash_unique" unique ("token_hash");');
    this.addSql(
      'alter table "sessions" add constraint "sessions_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "request_logs" add constraint "request_logs_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "api_tokens" add constraint "api_tokens_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "memberships" add constraint "memberships_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "memberships" add constraint "memberships_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "memberships" add constraint "memberships_role_check" check ("role" in (\'owner\', \'admin\', \'member\'));',
    );
    this.addSql(
      'alter table "invitations" add constraint "invitations_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "invitations" add constraint "invitations_invited_by_id_foreign" foreign key ("invited_by_id") references "users" ("id") on delete set null;',
    );
    this.addSql(
      'alter table "invitations" add constraint "invitations_accepted_by_id_foreign" foreign key ("accepted_by_id") references "users" ("id") on delete set null;',
    );
    this.addSql(
      'alter table "invitations" add constraint "invitations_role_check" check ("role" in (\'owner\', \'admin\', \'member\'));',
    );
    this.addSql(
      "alter table \"invitations\" add constraint \"invitations_status_check\" check (\"status\" in ('pending', 'accepted', 'revoked', 'expired'));",
    );
  }

  override down(): void {
    this.addSql('alter table "sessions" drop constraint "sessions_user_id_foreign";');
    this.addSql('alter table "request_logs" drop constraint "request_logs_user_id_foreign";');
    this.addSql('alter table "api_tokens" drop constraint "api_tokens_user_id_foreign";');
    this.addSql('alter table "memberships" drop constraint "memberships_user_id_foreign";');
    this.addSql('alter table "invitations" drop constraint "invitations_invited_by_id_foreign";');
    this.addSql('alter table "invitations" drop constraint "invitations_accepted_by_id_foreign";');
    this.addSql('alter table "memberships" drop constraint "memberships_workspace_id_foreign";');
    this.addSql('alter table "invitations" drop constraint "invitations_workspace_id_foreign";');
    this.addSql('drop table if exists "audit_events" cascade;');
    this.addSql('drop table if exists "login_throttles" cascade;');
    this.addSql('drop table if exists "users" cascade;');
    this.addSql('drop table if exists "sessions" cascade;');
    this.addSql('drop table if exists "request_logs" cascade;');
    this.addSql('drop table if exists "api_tokens" cascade;');
    this.addSql('drop table if exists "workspaces" cascade;');
    this.addSql('drop table if exists "memberships" cascade;');
    this.addSql('drop table if exists "invitations" cascade;');
  }
}
