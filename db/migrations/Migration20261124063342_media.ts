import { Migration } from '@mikro-orm/migrations';

export class Migration20261124063342_media extends Migration {
  override name = 'Migration20261124063342_media';

  override up(): void {
    this.addSql(
      'create table "media_files" ("id" uuid not null, "workspace_id" uuid not null, "uploaded_by_id" uuid null, "name" varchar(255) not null, "folder" varchar(500) not null default \'\', "tags" text[] not null default \'{}\', "declared_type" varchar(200) null, "mime_type" varchar(200) null, "kind" text null, "size_bytes" bigint not null, "sha256" varchar(64) not null, "storage_key" varchar(512) not null, "status" text not null default \'processing\', "stages" jsonb not null, "failure_reason" varchar(1000) null, "probe" jsonb null, "derived_bytes" bigint not null default \'0\', "created_at" timestamptz not null, "updated_at" timestamptz not null, "ready_at" timestamptz null, primary key ("id"));',
    );
    this.addSql(
      'create index "media_files_workspace_id_created_at_index" on "media_files" ("workspace_id", "created_at");',
    );
    this.addSql('create index "media_files_tags_index" on "media_files" using gin ("tags");');
    this.addSql(
      'create table "media_texts" ("id" uuid not null, "file_id" uuid not null, "workspace_id" uuid not null, "source" text not null, "engine" varchar(100) not null, "language" varchar(20) null, "text" text not null, "segments" jsonb not null, "created_at" timestamptz not null, primary key ("id"));',
    );
    this.addSql('create index "media_texts_workspace_id_index" on "media_texts" ("workspace_id");');
    this.addSql(
      'alter table "media_texts" add constraint "media_texts_file_id_source_unique" unique ("file_id", "source");',
    );
    this.addSql(
      'create table "media_derivatives" ("id" uuid not null, "file_id" uuid not null, "workspace_id" uuid not null, "kind" text not null, "storage_key" varchar(512) not null, "mime_type" varchar(100) not null, "width" int not null, "height" int not null, "size_bytes" int not null, "created_at" timestamptz not null, primary key ("id"));',
    );
    this.addSql('create index "media_derivatives_workspace_id_index" on "media_derivatives" ("workspace_id");');
    this.addSql(
      'alter table "media_derivatives" add constraint "media_derivatives_file_id_kind_unique" unique ("file_id", "kind");',
    );
    this.addSql(
      'create table "media_chunks" ("id" bigserial primary key, "file_id" uuid not null, "workspace_id" uuid not null, "source" text not null, "seq" int not null, "text" text not null, "start_ms" int null, "end_ms" int null, "page" int null, "model" varchar(100) null, "embedding" real[] null, "tsv" tsvector generated always as (to_tsvector(\'english\'::regconfig, text)) stored null);',
    );
    this.addSql('create index "media_chunks_file_id_index" on "media_chunks" ("file_id");');
    this.addSql(
      'create index "media_chunks_workspace_id_model_id_index" on "media_chunks" ("workspace_id", "model", "id");',
    );
    this.addSql('create index "media_chunks_tsv_index" on "public"."media_chunks" using gin("tsv");');
    this.addSql(
      'alter table "media_chunks" add constraint "media_chunks_file_id_source_seq_unique" unique ("file_id", "source", "seq");',
    );
    this.addSql(
      'alter table "media_files" add constraint "media_files_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "media_files" add constraint "media_files_uploaded_by_id_foreign" foreign key ("uploaded_by_id") references "users" ("id") on delete set null;',
    );
    this.addSql(
      "alter table \"media_files\" add constraint \"media_files_kind_check\" check (\"kind\" in ('image', 'video', 'audio', 'pdf'));",
    );
    this.addSql(
      'alter table "media_files" add constraint "media_files_status_check" check ("status" in (\'processing\', \'ready\', \'failed\'));',
    );
    this.addSql(
      'alter table "media_texts" add constraint "media_texts_file_id_foreign" foreign key ("file_id") references "media_files" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "media_texts" add constraint "media_texts_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "media_texts" add constraint "media_texts_source_check" check ("source" in (\'ocr\', \'transcript\'));',
    );
    this.addSql(
      'alter table "media_derivatives" add constraint "media_derivatives_file_id_foreign" foreign key ("file_id") references "media_files" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "media_derivatives" add constraint "media_derivatives_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "media_derivatives" add constraint "media_derivatives_kind_check" check ("kind" in (\'thumbnail\', \'preview\'));',
    );
    this.addSql(
      'alter table "media_chunks" add constraint "media_chunks_file_id_foreign" foreign key ("file_id") references "media_files" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "media_chunks" add constraint "media_chunks_workspace_id_foreign" foreign key ("workspace_id") references "workspaces" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "media_chunks" add constraint "media_chunks_source_check" check ("source" in (\'ocr\', \'transcript\'));',
    );
    // Where the pgvector extension is available (the compose file's PostgreSQL image), it is
    // created and semantic search goes through an HNSW index on the cast of the default model's
    // vectors (text-embedding-3-small at 512 dimensions); elsewhere (Debian's PostgreSQL, or a role
    // that may not create extensions) search stays exact, in memory, and nothing else changes.
    this.addSql(`do $$ begin
      if exists (select 1 from pg_available_extensions where name = 'vector') then
        begin
          create extension if not exists vector;
        exception when insufficient_privilege then
          raise notice 'pgvector is available but this role may not create it; semantic search stays exact';
        end;
      end if;
      if exists (select 1 from pg_extension where extname = 'vector') then
        create index "media_chunks_hnsw_512" on "media_chunks"
          using hnsw (("embedding"::vector(512)) vector_cosine_ops)
          where "model" = 'text-embedding-3-small/512';
      end if;
    end $$;`);
  }

  override down(): void {
    this.addSql('alter table "media_texts" drop constraint "media_texts_file_id_foreign";');
    this.addSql('alter table "media_derivatives" drop constraint "media_derivatives_file_id_foreign";');
    this.addSql('alter table "media_chunks" drop constraint "media_chunks_file_id_foreign";');
    this.addSql('drop table if exists "media_files" cascade;');
    this.addSql('drop table if exists "media_texts" cascade;');
    this.addSql('drop table if exists "media_derivatives" cascade;');
    this.addSql('drop table if exists "media_chunks" cascade;');
  }
}
