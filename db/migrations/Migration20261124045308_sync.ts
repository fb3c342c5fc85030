import { Migration } from '@mikro-orm/migrations';

export class Migration20261124045308_sync extends Migration {
  override name = 'Migration20261124045308_sync';

  override up(): void {
    this.addSql(
      'create table "webhook_events" ("id" bigserial primary key, "platform" text not null, "dedupe_key" varchar(300) not null, "workspace_id" uuid not null, "connection_id" uuid not null, "payload" jsonb null, "received_at" timestamptz not null, "processed_at" timestamptz null, "error" varchar(300) null);',
    );
    this.addSql('create index "webhook_events_workspace_id_index" on "webhook_events" ("workspace_id");');
    this.addSql('create index "webhook_events_received_at_index" on "webhook_events" ("received_at");');
    this.addSql(
      'alter table "webhook_events" add constraint "webhook_events_connection_id_dedupe_key_unique" unique ("connection_id", "dedupe_key");',
    );
    this.addSql(
      'create table "sync_states" ("connection_id" uuid not null, "workspace_id" uuid not null, "platform" text not null, "status" text not null default \'idle\', "status_reason" varchar(300) null, "waiting_until" timestamptz null, "passes" int not null default 0, "last_pass_started_at" timestamptz null, "last_pass_completed_at" timestamptz null, "verified_at" timestamptz null, "last_pass_metric_rows" int not null default 0, "last_pass_messages" int not null default 0, primary key ("connection_id"));',
    );
    this.addSql('create index "sync_states_workspace_id_index" on "sync_states" ("workspace_id");');
    this.addSql(
      'create table "synced_media" ("id" uuid not null, "workspace_id" uuid not null, "connection_id" uuid not null, "platform" text not null, "external_id" varchar(200) not null, "media_type" varchar(40) null, "permalink" varchar(500) null, "published_at" timestamptz not null, "fetched_at" timestamptz not null, primary key ("id"));',
    );
    this.addSql('create index "synced_media_workspace_id_index" on "synced_media" ("workspace_id");');
    this.addSql(
      'alter table "synced_media" add constraint "synced_media_connection_id_external_id_unique" unique ("connection_id", "external_id");',
    );
    this.addSql(
      'create table "sync_cursors" ("connection_id" uuid not null, "stream" varchar(40) not null, "workspace_id" uuid not null, "cursor" jsonb not null, "updated_at" timestamptz not null, primary key ("connection_id", "stream"));',
    );
    this.addSql('create index "sync_cursors_workspace_id_index" on "sync_cursors" ("workspace_id");');
    this.addSql(
      'create table "metric_points" ("id" bigserial primary key, "workspace_id" uuid not null, "connection_id" uuid not null, "platform" text not null, "object_kind" text not null, "object_id" varchar(200) not null, "metric" varchar(60) not null, "day" date null, "value" double precision not null, "delta" double precision null, "observed_at" timestamptz not null);',
    );
    this.addSql(
      'create index "metric_points_connection_id_object_kind_object_id__3c1cb_index" on "metric_points" ("connection_id", "object_kind", "object_id", "metric", "day", "observed_at");',
    );
    this.addSql(
      'create index "metric_points_workspace_id_metric_observed_at_index" on "metric_points" ("workspace_id", "metric", "observed_at");',
    );
    this.addSql(
      'create table "metric_monthly" ("id" bigserial primary key, "workspace_id" uuid not null, "connection_id" uuid not null, "platform" text not null, "object_kind" text not null, "metric" varchar(60) not null, "series" text not null, "month" date not null, "value" double precision not null, "samples" int not null);',
    );
    this.addSql('create index "metric_monthly_workspace_id_index" on "metric_monthly" ("workspace_id");');
    this.addSql(
      'alter table "metric_monthly" add constraint "metric_monthly_connection_id_object_kind_metric_s_1a409_unique" unique ("connection_id", "object_kind", "metric", "series", "month");',
    );
    this.addSql(
      'create table "inbox_threads" ("id" uuid not null, "workspace_id" uuid not null, "connection_id" uuid not null, "platform" text not null, "kind" text not null, "external_id" varchar(200) not null, "last_message_at" timestamptz not null, "unread_count" int not null default 0, "created_at" timestamptz not null, primary key ("id"));',
    );
    this.addSql('create index "inbox_threads_connection_id_index" on "inbox_threads" ("connection_id");');
    this.addSql(
      'create index "inbox_threads_workspace_id_last_message_at_index" on "inbox_threads" ("workspace_id", "last_message_at");',
    );
    this.addSql(
      'alter table "inbox_threads" add constraint "inbox_threads_connection_id_kind_external_id_unique" unique ("connection_id", "kind", "external_id");',
    );
    this.addSql(
      'create table "inbox_messages" ("id" uuid not null, "workspace_id" uuid not null, "connection_id" uuid not null, "thread_id" uuid not null, "platform" text not null, "external_id" varchar(200) not null, "parent_external_id" varchar(200) null, "direction" text not null, "author_external_id" varchar(200) not null, "author_name" varchar(200) null, "body" text not null, "sent_at" timestamptz not null, "received_at" timestamptz not null, "fetched_at" timestamptz not null, "read_at" timestamptz null, "read_receipt_at" timestamptz null, "hidden" boolean not null default false, "removed_at" timestamptz null, "sentiment" text null, "sentiment_score" double precision null, "sentiment_model" varchar(60) null, "sentiment_at" timestamptz null, "sentiment_attempts" int not null default 0, primary key ("id"));',
    );
    this.addSql('create index "inbox_messages_thread_id_index" on "inbox_messages" ("thread_id");');
    this.addSql(
      'create index "inbox_messages_workspace_id_sent_at_index" on "inbox_messages" ("workspace_id", "sent_at");',
    );
    this.addSql(
      'create index "inbox_messages_platform_received_at_index" on "inbox_messages" ("platform", "received_at");',
    );
    this.addSql(
      'alter table "inbox_messages" add constraint "inbox_messages_connection_id_external_id_unique" unique ("connection_id", "external_id");',
    );
    this.addSql(
      'create table "inbox_replies" ("id" uuid not null, "workspace_id" uuid not null, "connection_id" uuid not null, "message_id" uuid not null, "body" text not null, "status" text not null default \'pending\', "status_reason" varchar(500) null, "attempts" int not null default 0, "attempt_state" text null, "attempt_started_at" timestamptz null, "external_id" varchar(200) null, "idempotency_key" varchar(200) null, "created_by_id" uuid null, "created_at" timestamptz not null, "sent_at" timestamptz null, primary key ("id"));',
    );
    this.addSql('create index "inbox_replies_workspace_id_index" on "inbox_replies" ("workspace_id");');
    this.addSql('create index "inbox_replies_connection_id_index" on "inbox_replies" ("connection_id");');
    this.addSql('create index "inbox_replies_message_id_index" on "inbox_replies" ("message_id");');
    this.addSql(
      'alter table "inbox_replies" add constraint "inbox_replies_message_id_idempotency_key_unique" unique ("message_id", "idempotency_key");',
    );
    this.addSql(
      'create table "inbox_attachments" ("id" uuid not null, "workspace_id" uuid not null, "message_id" uuid not null, "external_id" varchar(200) not null, "mime_type" varchar(120) null, "size_bytes" bigint null, "sha256" varchar(64) null, "storage_key" varchar(300) null, "status" text not null default \'pending\', "error" varchar(300) null, "created_at" timestamptz not null, primary key ("id"));',
    );
    this.addSql('create index "inbox_attachments_workspace_id_index" on "inbox_attachments" ("workspace_id");');
    this.addSql('create index "inbox_attachments_message_id_index" on "inbox_attachments" ("message_id");');
    this.addSql(
      'alter table "webhook_events" add constraint "webhook_events_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "webhook_events" add constraint "webhook_events_connection_id_foreign" foreign key ("connection_id") references "connections" ("id") on delete cascade;',
    );
    this.addSql(
      "alter table \"webhook_events\" add constraint \"webhook_events_platform_check\" check (\"platform\" in ('youtube', 'instagram', 'facebook', 'tiktok', 'linkedin', 'x', 'threads', 'whatsapp'));",
    );
    this.addSql(
      'alter table "sync_states" add constraint "sync_states_connection_id_foreign" foreign key ("connection_id") references "connections" ("id") on update cascade on delete cascade;',
    );
    this.addSql(
      'alter table "sync_states" add constraint "sync_states_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      "alter table \"sync_states\" add constraint \"sync_states_platform_check\" check (\"platform\" in ('youtube', 'instagram', 'facebook', 'tiktok', 'linkedin', 'x', 'threads', 'whatsapp'));",
    );
    this.addSql(
      "alter table \"sync_states\" add constraint \"sync_states_status_check\" check (\"status\" in ('idle', 'running', 'waiting', 'failed'));",
    );
    this.addSql(
      'alter table "synced_media" add constraint "synced_media_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "synced_media" add constraint "synced_media_connection_id_foreign" foreign key ("connection_id") references "connections" ("id") on delete cascade;',
    );
    this.addSql(
      "alter table \"synced_media\" add constraint \"synced_media_platform_check\" check (\"platform\" in ('youtube', 'instagram', 'facebook', 'tiktok', 'linkedin', 'x', 'threads', 'whatsapp'));",
    );
    this.addSql(
      'alter table "sync_cursors" add constraint "sync_cursors_connection_id_foreign" foreign key ("connection_id") references "connections" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "sync_cursors" add constraint "sync_cursors_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "metric_points" add constraint "metric_points_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "metric_points" add constraint "metric_points_connection_id_foreign" foreign key ("connection_id") references "connections" ("id") on delete cascade;',
    );
    this.addSql(
      "alter table \"metric_points\" add constraint \"metric_points_platform_check\" check (\"platform\" in ('youtube', 'instagram', 'facebook', 'tiktok', 'linkedin', 'x', 'threads', 'whatsapp'));",
    );
    this.addSql(
      'alter table "metric_points" add constraint "metric_points_object_kind_check" check ("object_kind" in (\'account\', \'media\'));',
    );
    this.addSql(
      'alter table "metric_monthly" add constraint "metric_monthly_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "metric_monthly" add constraint "metric_monthly_connection_id_foreign" foreign key ("connection_id") references "connections" ("id") on delete cascade;',
    );
    this.addSql(
      "alter table \"metric_monthly\" add constraint \"metric_monthly_platform_check\" check (\"platform\" in ('youtube', 'instagram', 'facebook', 'tiktok', 'linkedin', 'x', 'threads', 'whatsapp'));",
    );
    this.addSql(
      'alter table "metric_monthly" add constraint "metric_monthly_object_kind_check" check ("object_kind" in (\'account\', \'media\'));',
    );
    this.addSql(
      'alter table "metric_monthly" add constraint "metric_monthly_series_check" check ("series" in (\'daily\', \'change\'));',
    );
    this.addSql(
      'alter table "inbox_threads" add constraint "inbox_threads_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "inbox_threads" add constraint "inbox_threads_connection_id_foreign" foreign key ("connection_id") references "connections" ("id") on delete cascade;',
    );
    this.addSql(
      "alter table \"inbox_threads\" add constraint \"inbox_threads_platform_check\" check (\"platform\" in ('youtube', 'instagram', 'facebook', 'tiktok', 'linkedin', 'x', 'threads', 'whatsapp'));",
    );
    this.addSql(
      'alter table "inbox_threads" add constraint "inbox_threads_kind_check" check ("kind" in (\'comment\', \'dm\', \'mention\'));',
    );
    this.addSql(
      'alter table "inbox_messages" add constraint "inbox_messages_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "inbox_messages" add constraint "inbox_messages_connection_id_foreign" foreign key ("connection_id") references "connections" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "inbox_messages" add constraint "inbox_messages_thread_id_foreign" foreign key ("thread_id") references "inbox_threads" ("id") on delete cascade;',
    );
    this.addSql(
      "alter table \"inbox_messages\" add constraint \"inbox_messages_platform_check\" check (\"platform\" in ('youtube', 'instagram', 'facebook', 'tiktok', 'linkedin', 'x', 'threads', 'whatsapp'));",
    );
    this.addSql(
      'alter table "inbox_messages" add constraint "inbox_messages_direction_check" check ("direction" in (\'in\', \'out\'));',
    );
    this.addSql(
      'alter table "inbox_messages" add constraint "inbox_messages_sentiment_check" check ("sentiment" in (\'positive\', \'neutral\', \'negative\'));',
    );
    this.addSql(
      'alter table "inbox_replies" add constraint "inbox_replies_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "inbox_replies" add constraint "inbox_replies_connection_id_foreign" foreign key ("connection_id") references "connections" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "inbox_replies" add constraint "inbox_replies_message_id_foreign" foreign key ("message_id") references "inbox_messages" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "inbox_replies" add constraint "inbox_replies_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id") on delete set null;',
    );
    this.addSql(
      "alter table \"inbox_replies\" add constraint \"inbox_replies_status_check\" check (\"status\" in ('pending', 'sending', 'sent', 'failed', 'unknown'));",
    );
    this.addSql(
      "alter table \"inbox_replies\" add constraint \"inbox_replies_attempt_state_check\" check (\"attempt_state\" in ('started', 'unknown', 'failed', 'succeeded'));",
    );
    this.addSql(
      'alter table "inbox_attachments" add constraint "inbox_attachments_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "inbox_attachments" add constraint "inbox_attachments_message_id_foreign" foreign key ("message_id") references "inbox_messages" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "inbox_attachments" add constraint "inbox_attachments_status_check" check ("status" in (\'pending\', \'stored\', \'failed\'));',
    );
  }

  override down(): void {
    this.addSql('alter table "inbox_messages" drop constraint "inbox_messages_thread_id_foreign";');
    this.addSql('alter table "inbox_replies" drop constraint "inbox_replies_message_id_foreign";');
    this.addSql('alter table "inbox_attachments" drop constraint "inbox_attachments_message_id_foreign";');
    this.addSql('drop table if exists "webhook_events" cascade;');
    this.addSql('drop table if exists "sync_states" cascade;');
    this.addSql('drop table if exists "synced_media" cascade;');
    this.addSql('drop table if exists "sync_cursors" cascade;');
    this.addSql('drop table if exists "metric_points" cascade;');
    this.addSql('drop table if exists "metric_monthly" cascade;');
    this.addSql('drop table if exists "inbox_threads" cascade;');
    this.addSql('drop table if exists "inbox_messages" cascade;');
    this.addSql('drop table if exists "inbox_replies" cascade;');
    this.addSql('drop table if exists "inbox_attachments" cascade;');
  }
}
