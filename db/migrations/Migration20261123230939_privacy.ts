import { Migration } from '@mikro-orm/migrations';

export class Migration20261123230939_privacy extends Migration {
  override name = 'Migration20261123230939_privacy';

  override up(): void {
    this.addSql(
      'create table "data_exports" ("id" uuid not null, "kind" text not null, "subject_id" uuid not null, "requested_by" uuid not null, "status" text not null default \'pending\', "path" varchar(300) null, "bytes" bigint null, "sha256" varchar(64) null, "token_hash" varchar(64) null, "created_at" timestamptz not null, "completed_at" timestamptz null, "expires_at" timestamptz null, "error" varchar(300) null, primary key ("id"));',
    );
    this.addSql('create index "data_exports_subject_id_index" on "data_exports" ("subject_id");');
    this.addSql('create index "data_exports_requested_by_index" on "data_exports" ("requested_by");');
    this.addSql('alter table "data_exports" add constraint "data_exports_token_hash_unique" unique ("token_hash");');
    this.addSql(
      'create table "deletion_requests" ("id" uuid not null, "kind" text not null, "subject_id" varchar(200) not null, "workspace_id" uuid null, "requested_by" uuid null, "channel" text not null, "source_key" varchar(200) null, "confirmation_code" varchar(32) null, "status" text not null default \'received\', "risk" text not null default \'on_track\', "deadline_rule" varchar(32) not null, "received_at" timestamptz not null, "due_at" timestamptz not null, "grace_ends_at" timestamptz null, "started_at" timestamptz null, "completed_at" timestamptz null, "cancelled_at" timestamptz null, "reason" varchar(300) null, "updated_at" timestamptz not null, primary key ("id"));',
    );
    this.addSql('create index "deletion_requests_subject_id_index" on "deletion_requests" ("subject_id");');
    this.addSql('create index "deletion_requests_workspace_id_index" on "deletion_requests" ("workspace_id");');
    this.addSql(
      'alter table "deletion_requests" add constraint "deletion_requests_source_key_unique" unique ("source_key");',
    );
    this.addSql(
      'alter table "deletion_requests" add constraint "deletion_requests_confirmation_code_unique" unique ("confirmation_code");',
    );
    this.addSql('create index "deletion_requests_due_at_index" on "deletion_requests" ("due_at");');
    this.addSql(
      'create table "compliance_alerts" ("id" uuid not null, "request_id" uuid not null, "kind" text not null, "created_at" timestamptz not null, "acknowledged_at" timestamptz null, primary key ("id"));',
    );
    this.addSql('create index "compliance_alerts_request_id_index" on "compliance_alerts" ("request_id");');
    this.addSql(
      'alter table "compliance_alerts" add constraint "compliance_alerts_request_id_kind_unique" unique ("request_id", "kind");',
    );
    this.addSql(
      'create table "deletion_steps" ("id" uuid not null, "request_id" uuid not null, "name" varchar(120) not null, "status" text not null, "attempts" int not null default 0, "started_at" timestamptz not null, "finished_at" timestamptz null, "result" jsonb null, "error" varchar(500) null, primary key ("id"));',
    );
    this.addSql('create index "deletion_steps_request_id_index" on "deletion_steps" ("request_id");');
    this.addSql(
      'alter table "deletion_steps" add constraint "deletion_steps_request_id_name_unique" unique ("request_id", "name");',
    );
    this.addSql(
      'create table "legal_holds" ("id" uuid not null, "kind" text not null, "subject_kind" text not null, "subject_id" varchar(200) not null, "workspace_id" uuid null, "reason" varchar(500) not null, "evidence" varchar(500) not null, "placed_by" uuid null, "placed_at" timestamptz not null, "released_at" timestamptz null, "released_by" uuid null, primary key ("id"));',
    );
    this.addSql('create index "legal_holds_subject_id_index" on "legal_holds" ("subject_id");');
    this.addSql('create index "legal_holds_workspace_id_index" on "legal_holds" ("workspace_id");');
    this.addSql(
      'alter table "audit_events" add "position" bigint null, add "prev_hash" varchar(64) null, add "hash" varchar(64) null;',
    );
    this.addSql('alter table "audit_events" add constraint "audit_events_position_unique" unique ("position");');
    this.addSql('alter table "users" add "instance_role" text null, add "pending_deletion_id" uuid null;');
    this.addSql(
      'alter table "users" add constraint "users_instance_role_check" check ("instance_role" in (\'compliance\'));',
    );
    this.addSql(
      'alter table "data_exports" add constraint "data_exports_kind_check" check ("kind" in (\'account\', \'workspace\'));',
    );
    this.addSql(
      "alter table \"data_exports\" add constraint \"data_exports_status_check\" check (\"status\" in ('pending', 'ready', 'failed', 'expired'));",
    );
    this.addSql(
      "alter table \"deletion_requests\" add constraint \"deletion_requests_kind_check\" check (\"kind\" in ('file', 'connection', 'workspace', 'account', 'platform_user'));",
    );
    this.addSql(
      "alter table \"deletion_requests\" add constraint \"deletion_requests_channel_check\" check (\"channel\" in ('api', 'meta_callback', 'meta_deauthorize', 'google', 'operator'));",
    );
    this.addSql(
      "alter table \"deletion_requests\" add constraint \"deletion_requests_status_check\" check (\"status\" in ('received', 'in_grace', 'in_progress', 'completed', 'completed_with_exceptions', 'cancelled', 'refused'));",
    );
    this.addSql(
      'alter table "deletion_requests" add constraint "deletion_requests_risk_check" check ("risk" in (\'on_track\', \'at_risk\', \'overdue\'));',
    );
    this.addSql(
      'alter table "compliance_alerts" add constraint "compliance_alerts_request_id_foreign" foreign key ("request_id") references "deletion_requests" ("id") on delete cascade;',
    );
    this.addSql(
      'alter table "compliance_alerts" add constraint "compliance_alerts_kind_check" check ("kind" in (\'deletion.at_risk\', \'deletion.overdue\'));',
    );
    this.addSql(
      'alter table "deletion_steps" add constraint "deletion_steps_request_id_foreign" foreign key ("request_id") references "deletion_requests" ("id") on delete cascade;',
    );
    this.addSql(
      "alter table \"deletion_steps\" add constraint \"deletion_steps_status_check\" check (\"status\" in ('running', 'done', 'held', 'failed', 'skipped'));",
    );
    this.addSql(
      'alter table "legal_holds" add constraint "legal_holds_kind_check" check ("kind" in (\'legal\', \'moderation\'));',
    );
    this.addSql(
      "alter table \"legal_holds\" add constraint \"legal_holds_subject_kind_check\" check (\"subject_kind\" in ('file', 'connection', 'workspace', 'account', 'platform_user'));",
    );

    // The audit chain. Each row's hash covers the previous hash and every column (quote_nullable keeps
    // NULL and '' apart), so changing or removing any row breaks verification at that position. The
    // advisory lock serialises appends so positions are gapless and the chain has no forks.
    this.addSql(`create or replace function audit_event_digest(prev text, e audit_events) returns text
      language sql stable as $$
        select encode(sha256(convert_to(concat_ws(',',
          quote_nullable(prev), e.position::text,
          to_char(e.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
          quote_nullable(e.action), quote_nullable(e.actor_id::text), quote_nullable(e.workspace_id::text),
          quote_nullable(e.target_type), quote_nullable(e.target_id), quote_nullable(e.request_id),
          quote_nullable(e.details::text)), 'UTF8')), 'hex')
      $$;`);
    this.addSql(`create or replace function audit_events_chain() returns trigger language plpgsql as $$
      declare last_position bigint; last_hash text;
      begin
        perform pg_advisory_xact_lock(hashtext('audit_events_chain'));
        select position, hash into last_position, last_hash from audit_events
          where position is not null order by position desc limit 1;
        new.position := coalesce(last_position, 0) + 1;
        new.prev_hash := last_hash;
        new.hash := audit_event_digest(last_hash, new);
        return new;
      end $$;`);
    this.addSql(`do $$
      declare r record; last_hash text; n bigint := 0;
      begin
        for r in select id from audit_events order by id loop
          n := n + 1;
          update audit_events set position = n, prev_hash = last_hash where id = r.id;
          update audit_events e set hash = audit_event_digest(last_hash, e) where id = r.id returning hash into last_hash;
        end loop;
      end $$;`);
    this.addSql(
      'create trigger audit_events_chain before insert on audit_events for each row execute function audit_events_chain();',
    );
    this.addSql(`create or replace function audit_events_append_only() returns trigger language plpgsql as $$
      begin raise exception 'audit_events is append-only'; end $$;`);
    this.addSql(
      'create trigger audit_events_append_only before update or delete on audit_events for each row execute function audit_events_append_only();',
    );
    this.addSql(
      'create trigger audit_events_no_truncate before truncate on audit_events for each statement execute function audit_events_append_only();',
    );
  }

  override down(): void {
    this.addSql('drop trigger if exists audit_events_no_truncate on audit_events;');
    this.addSql('drop trigger if exists audit_events_append_only on audit_events;');
    this.addSql('drop trigger if exists audit_events_chain on audit_events;');
    this.addSql('drop function if exists audit_events_append_only();');
    this.addSql('drop function if exists audit_events_chain();');
    this.addSql('drop function if exists audit_event_digest(text, audit_events);');
    this.addSql('alter table "compliance_alerts" drop constraint "compliance_alerts_request_id_foreign";');
    this.addSql('alter table "deletion_steps" drop constraint "deletion_steps_request_id_foreign";');
    this.addSql('drop table if exists "data_exports" cascade;');
    this.addSql('drop table if exists "deletion_requests" cascade;');
    this.addSql('drop table if exists "compliance_alerts" cascade;');
    this.addSql('drop table if exists "deletion_steps" cascade;');
    this.addSql('drop table if exists "legal_holds" cascade;');
    this.addSql('alter table "audit_events" drop constraint "audit_events_position_unique";');
    this.addSql('alter table "audit_events" drop column "position", drop column "prev_hash", drop column "hash";');
    this.addSql('alter table "users" drop constraint "users_instance_role_check";');
    this.addSql('alter table "users" drop column "instance_role", drop column "pending_deletion_id";');
  }
}
