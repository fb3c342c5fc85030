import { Migration } from '@mikro-orm/migrations';

export class Migration20261124012757_publishing extends Migration {
  override name = 'Migration20261124012757_publishing';

  override up(): void {
    this.addSql(
      'create table "templates" ("id" uuid not null, "workspace_id" uuid not null, "name" varchar(100) not null, "caption" text not null, "options" jsonb null, "created_by_id" uuid null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));',
    );
    this.addSql('create index "templates_workspace_id_index" on "templates" ("workspace_id");');
    this.addSql(
      'create table "tags" ("id" uuid not null, "workspace_id" uuid not null, "name" varchar(50) not null, "color" varchar(7) null, "created_at" timestamptz not null, primary key ("id"));',
    );
    this.addSql('alter table "tags" add constraint "tags_workspace_id_name_unique" unique ("workspace_id", "name");');
    this.addSql(
      'create table "board_columns" ("id" uuid not null, "workspace_id" uuid not null, "name" varchar(100) not null, "position" int not null, "created_at" timestamptz not null, primary key ("id"));',
    );
    this.addSql('create index "board_columns_workspace_id_index" on "board_columns" ("workspace_id");');
    this.addSql(
      'create table "posts" ("id" uuid not null, "workspace_id" uuid not null, "title" varchar(200) null, "column_id" uuid null, "position" int not null default 0, "template_id" uuid null, "requires_approval" boolean not null default false, "approval_state" text not null default \'not_required\', "approval_feedback" text null, "approval_decided_at" timestamptz null, "content_version" int not null default 1, "created_by_id" uuid null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));',
    );
    this.addSql('create index "posts_workspace_id_index" on "posts" ("workspace_id");');
    this.addSql('create index "posts_column_id_index" on "posts" ("column_id");');
    this.addSql(
      'create table "post_variants" ("id" uuid not null, "workspace_id" uuid not null, "post_id" uuid not null, "platform" text not null, "caption" text not null default \'\', "media" jsonb not null, "options" jsonb not null, "updated_at" timestamptz not null, primary key ("id"));',
    );
    this.addSql('create index "post_variants_workspace_id_index" on "post_variants" ("workspace_id");');
    this.addSql(
      'alter table "post_variants" add constraint "post_variants_post_id_platform_unique" unique ("post_id", "platform");',
    );
    this.addSql(
      'create table "post_targets" ("id" uuid not null, "workspace_id" uuid not null, "post_id" uuid not null, "connection_id" uuid not null, "platform" text not null, "due_at" timestamptz null, "status" text not null default \'draft\', "status_reason" varchar(500) null, "schedule_version" int not null default 0, "published_content_version" int null, "platform_post_id" varchar(200) null, "permalink" varchar(500) null, "published_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));',
    );
    this.addSql('create index "post_targets_workspace_id_index" on "post_targets" ("workspace_id");');
    this.addSql('create index "post_targets_connection_id_index" on "post_targets" ("connection_id");');
    this.addSql('create index "post_targets_status_due_at_index" on "post_targets" ("status", "due_at");');
    this.addSql(
      'alter table "post_targets" add constraint "post_targets_post_id_connection_id_unique" unique ("post_id", "connection_id");',
    );
    this.addSql(
      'create table "publish_attempts" ("id" uuid not null, "workspace_id" uuid not null, "target_id" uuid not null, "step" text not null, "idempotency_key" varchar(120) not null, "content_version" int not null, "state" text not null, "handle" jsonb null, "platform_post_id" varchar(200) null, "error_kind" varchar(32) null, "error_message" varchar(500) null, "started_at" timestamptz not null, "finished_at" timestamptz null, primary key ("id"));',
    );
    this.addSql('create index "publish_attempts_workspace_id_index" on "publish_attempts" ("workspace_id");');
    this.addSql('create index "publish_attempts_target_id_index" on "publish_attempts" ("target_id");');
    this.addSql(
      'alter table "publish_attempts" add constraint "publish_attempts_idempotency_key_unique" unique ("idempotency_key");',
    );
    this.addSql(
      'create table "post_tags" ("id" uuid not null, "workspace_id" uuid not null, "post_id" uuid not null, "tag_id" uuid not null, primary key ("id"));',
    );
    this.addSql('create index "post_tags_workspace_id_index" on "post_tags" ("workspace_id");');
    this.addSql('create index "post_tags_tag_id_index" on "post_tags" ("tag_id");');
    this.addSql(
      'alter table "post_tags" add constraint "post_tags_post_id_tag_id_unique" unique ("post_id", "tag_id");',
    );
    this.addSql(
      'create table "ideas" ("id" uuid not null, "workspace_id" uuid not null, "title" varchar(200) not null, "notes" text null, "column_id" uuid null, "position" int not null default 0, "created_by_id" uuid null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));',
    );
    this.addSql('create index "ideas_workspace_id_index" on "ideas" ("workspace_id");');
    this.addSql('create index "ideas_column_id_index" on "ideas" ("column_id");');
    this.addSql(
      'create table "approval_links" ("id" uuid not null, "workspace_id" uuid not null, "post_id" uuid not null, "token_hash" varchar(64) not null, "password_hash" varchar(100) null, "created_by_id" uuid null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "revoked_at" timestamptz null, "failed_attempts" int not null default 0, "locked_until" timestamptz null, "last_used_at" timestamptz null, primary key ("id"));',
    );
    this.addSql('create index "approval_links_workspace_id_index" on "approval_links" ("workspace_id");');
    this.addSql('create index "approval_links_post_id_index" on "approval_links" ("post_id");');
    this.addSql(
      'alter table "approval_links" add constraint "approval_links_token_hash_unique" unique ("token_hash");',
    );
    this.addSql(
      'alter table "templates" add constraint "templates_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "templates" add constraint "templates_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id") on delete set null;',
    );
    this.addSql(
      'alter table "tags" add constraint "tags_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "board_columns" add constraint "board_columns_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "posts" add constraint "posts_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "posts" add constraint "posts_column_id_foreign" foreign key ("column_id") references "board_columns" ("id") on delete set null;',
    );
    this.addSql(
      'alter table "posts" add constraint "posts_template_id_foreign" foreign key ("template_id") references "templates" ("id") on delete set null;',
    );
    this.addSql(
      'alter table "posts" add constraint "posts_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id") on delete set null;',
    );
    this.addSql(
      "alter table \"posts\" add constraint \"posts_approval_state_check\" check (\"approval_state\" in ('not_required', 'pending', 'approved', 'rejected'));",
    );
    this.addSql(
      'alter table "post_variants" add constraint "post_variants_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "post_variants" add constraint "post_variants_post_id_foreign" foreign key ("post_id") references "posts" ("id") on delete cascade;',
    );
    this.addSql(
      "alter table \"post_variants\" add constraint \"post_variants_platform_check\" check (\"platform\" in ('default', 'youtube', 'instagram', 'facebook', 'tiktok', 'linkedin', 'x', 'threads', 'whatsapp'));",
    );
    this.addSql(
      'alter table "post_targets" add constraint "post_targets_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "post_targets" add constraint "post_targets_post_id_foreign" foreign key ("post_id") references "posts" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "post_targets" add constraint "post_targets_connection_id_foreign" foreign key ("connection_id") references "connections" ("id") on delete cascade;',
    );
    this.addSql(
      "alter table \"post_targets\" add constraint \"post_targets_platform_check\" check (\"platform\" in ('youtube', 'instagram', 'facebook', 'tiktok', 'linkedin', 'x', 'threads', 'whatsapp'));",
    );
    this.addSql(
      "alter table \"post_targets\" add constraint \"post_targets_status_check\" check (\"status\" in ('draft', 'scheduled', 'awaiting_approval', 'publishing', 'published', 'failed', 'cancelled'));",
    );
    this.addSql(
      'alter table "publish_attempts" add constraint "publish_attempts_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "publish_attempts" add constraint "publish_attempts_target_id_foreign" foreign key ("target_id") references "post_targets" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "publish_attempts" add constraint "publish_attempts_step_check" check ("step" in (\'prepare\', \'commit\'));',
    );
    this.addSql(
      "alter table \"publish_attempts\" add constraint \"publish_attempts_state_check\" check (\"state\" in ('started', 'succeeded', 'failed', 'unknown', 'landed', 'not_landed'));",
    );
    this.addSql(
      'alter table "post_tags" add constraint "post_tags_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "post_tags" add constraint "post_tags_post_id_foreign" foreign key ("post_id") references "posts" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "post_tags" add constraint "post_tags_tag_id_foreign" foreign key ("tag_id") references "tags" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "ideas" add constraint "ideas_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "ideas" add constraint "ideas_column_id_foreign" foreign key ("column_id") references "board_columns" ("id") on delete set null;',
    );
    this.addSql(
      'alter table "ideas" add constraint "ideas_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id") on delete set null;',
    );
    this.addSql(
      'alter table "approval_links" add constraint "approval_links_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "approval_links" add constraint "approval_links_post_id_foreign" foreign key ("post_id") references "posts" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "approval_links" add constraint "approval_links_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id") on delete set null;',
    );
  }

  override down(): void {
    this.addSql('alter table "posts" drop constraint "posts_template_id_foreign";');
    this.addSql('alter table "post_tags" drop constraint "post_tags_tag_id_foreign";');
    this.addSql('alter table "posts" drop constraint "posts_column_id_foreign";');
    this.addSql('alter table "ideas" drop constraint "ideas_column_id_foreign";');
    this.addSql('alter table "post_variants" drop constraint "post_variants_post_id_foreign";');
    this.addSql('alter table "post_targets" drop constraint "post_targets_post_id_foreign";');
    this.addSql('alter table "post_tags" drop constraint "post_tags_post_id_foreign";');
    this.addSql('alter table "approval_links" drop constraint "approval_links_post_id_foreign";');
    this.addSql('alter table "publish_attempts" drop constraint "publish_attempts_target_id_foreign";');
    this.addSql('drop table if exists "templates" cascade;');
    this.addSql('drop table if exists "tags" cascade;');
    this.addSql('drop table if exists "board_columns" cascade;');
    this.addSql('drop table if exists "posts" cascade;');
    this.addSql('drop table if exists "post_variants" cascade;');
    this.addSql('drop table if exists "post_targets" cascade;');
    this.addSql('drop table if exists "publish_attempts" cascade;');
    this.addSql('drop table if exists "post_tags" cascade;');
    this.addSql('drop table if exists "ideas" cascade;');
    this.addSql('drop table if exists "approval_links" cascade;');
  }
}
