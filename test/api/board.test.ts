import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestSystem, createWorkspace, signUp, sql, type TestSystem } from '../helpers.ts';

// The planning board: tags, ordered columns, templates, ideas and converting an idea to a draft post.

let sys: TestSystem;
beforeAll(async () => {
  sys = await createTestSystem();
});
afterAll(() => sys.close());

async function team() {
  const owner = await signUp(sys.app, 'board');
  const workspaceId = await createWorkspace(sys.app, owner.token, 'Board');
  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, payload?: Record<string, unknown>) =>
    sys.app.inject({
      method,
      url: `/v1/workspaces/${workspaceId}${path}`,
      headers: bearer(owner.token),
      ...(payload ? { payload } : {}),
    });
  return { owner, workspaceId, call };
}
type Team = Awaited<ReturnType<typeof team>>;

async function addColumn(t: Team, name: string, position?: number): Promise<string> {
  const res = await t.call('POST', '/columns', { name, ...(position === undefined ? {} : { position }) });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}
async function addIdea(t: Team, title: string, columnId: string | null, extra: Record<string, unknown> = {}) {
  const res = await t.call('POST', '/ideas', { title, columnId, ...extra });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}
const columnNames = async (t: Team) =>
  (await t.call('GET', '/columns')).json().map((c: { name: string; position: number }) => `${c.position}:${c.name}`);
/** Stored positions, so renumbering is checked in the database and not only in the answer. */
const storedColumns = async (workspaceId: string) =>
  (
    await sql<{ name: string; position: number }>(
      sys.orm,
      'select name, position from board_columns where workspace_id = ? order by position',
      [workspaceId],
    )
  ).map((r) => `${r.position}:${r.name}`);
const ideaTitles = async (workspaceId: string, columnId: string | null) =>
  (
    await sql<{ title: string; position: number }>(
      sys.orm,
      `select title, position from ideas where workspace_id = ? and column_id ${columnId ? '= ?' : 'is null'} order by position`,
      columnId ? [workspaceId, columnId] : [workspaceId],
    )
  ).map((r) => `${r.position}:${r.title}`);

async function insertPost(workspaceId: string, columnId: string | null, title: string, position: number) {
  const id = randomUUID();
  await sql(
    sys.orm,
    `insert into posts (id, workspace_id, title, column_id, requires_approval, approval_state, content_version, position, created_at, updated_at)
       values (?, ?, ?, ?, true, 'pending', 1, ?, now(), now())`,
    [id, workspaceId, title, columnId, position],
  );
  return id;
}

describe('tags', () => {
  it('creates, lists, renames, recolours and deletes; a duplicate name is 409 naming body.name', async () => {
    const t = await team();
    const created = await t.call('POST', '/tags', { name: 'Launch', color: '#FFAA00' });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ name: 'Launch', color: '#ffaa00' });
    const tagId = created.json().id;
    expect((await t.call('POST', '/tags', { name: 'Evergreen' })).json()).toMatchObject({ color: null });

    const dup = await t.call('POST', '/tags', { name: 'Launch' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error).toMatchObject({ code: 'TAG_EXISTS', field: 'body.name' });
    expect(dup.json().error.message).toContain('Launch');
    const renameDup = await t.call('PATCH', `/tags/${tagId}`, { name: 'Evergreen' });
    expect(renameDup.statusCode).toBe(409);
    expect(renameDup.json().error.field).toBe('body.name');

    expect((await t.call('POST', '/tags', { name: 'Bad', color: 'red' })).statusCode).toBe(400);
    const patched = await t.call('PATCH', `/tags/${tagId}`, { name: 'Big launch', color: null });
    expect(patched.json()).toMatchObject({ id: tagId, name: 'Big launch', color: null });
    expect((await t.call('GET', '/tags')).json().map((x: { name: string }) => x.name)).toEqual([
      'Big launch',
      'Evergreen',
    ]);

    // Another workspace may use the same name.
    const other = await team();
    expect((await other.call('POST', '/tags', { name: 'Evergreen' })).statusCode).toBe(201);

    expect((await t.call('DELETE', `/tags/${tagId}`)).statusCode).toBe(204);
    expect((await t.call('DELETE', `/tags/${tagId}`)).statusCode).toBe(404);
    expect((await t.call('GET', '/tags')).json()).toHaveLength(1);
  });
});

describe('columns', () => {
  it('keeps columns in order and renumbers neighbours on insert and move', async () => {
    const t = await team();
    const a = await addColumn(t, 'Ideas');
    await addColumn(t, 'Writing');
    const c = await addColumn(t, 'Done');
    await addColumn(t, 'Review', 2);
    expect(await columnNames(t)).toEqual(['0:Ideas', '1:Writing', '2:Review', '3:Done']);

    const moved = await t.call('POST', `/columns/${c}/move`, { position: 0 });
    expect(moved.statusCode).toBe(200);
    expect(moved.json().map((x: { name: string }) => x.name)).toEqual(['Done', 'Ideas', 'Writing', 'Review']);
    expect(await storedColumns(t.workspaceId)).toEqual(['0:Done', '1:Ideas', '2:Writing', '3:Review']);

    // Past the end: it goes last.
    await t.call('POST', `/columns/${a}/move`, { position: 99 });
    expect(await storedColumns(t.workspaceId)).toEqual(['0:Done', '1:Writing', '2:Review', '3:Ideas']);

    const renamed = await t.call('PATCH', `/columns/${a}`, { name: 'Backlog' });
    expect(renamed.json()).toMatchObject({ id: a, name: 'Backlog', position: 3 });
  });

  it('deleting a column leaves its ideas and posts without a column, and renumbers the rest', async () => {
    const t = await team();
    const keep = await addColumn(t, 'Keep');
    const drop = await addColumn(t, 'Drop');
    const last = await addColumn(t, 'Last');
    await addIdea(t, 'loose', null);
    await addIdea(t, 'one', drop);
    await addIdea(t, 'two', drop);
    await addIdea(t, 'stays', keep);
    const postId = await insertPost(t.workspaceId, drop, 'a post', 0);

    expect((await t.call('DELETE', `/columns/${drop}`)).statusCode).toBe(204);
    expect(await storedColumns(t.workspaceId)).toEqual(['0:Keep', '1:Last']);
    expect(await ideaTitles(t.workspaceId, null)).toEqual(['0:loose', '1:one', '2:two']);
    expect(await ideaTitles(t.workspaceId, keep)).toEqual(['0:stays']);
    const [post] = await sql<{ column_id: string | null }>(sys.orm, 'select column_id from posts where id = ?', [
      postId,
    ]);
    expect(post?.column_id).toBeNull();
    expect((await t.call('DELETE', `/columns/${drop}`)).statusCode).toBe(404);
    expect((await t.call('GET', '/columns')).json().map((c: { id: string }) => c.id)).toEqual([keep, last]);
  });
});

describe('templates', () => {
  it('creates, lists, changes and deletes templates with options per platform', async () => {
    const t = await team();
    const created = await t.call('POST', '/templates', {
      name: 'Weekly tip',
      caption: 'Tip of the week: …',
      options: { youtube: { title: 'Tip', privacyStatus: 'unlisted' }, x: { replySettings: 'following' } },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id;
    expect(created.json()).toMatchObject({
      name: 'Weekly tip',
      options: { youtube: { title: 'Tip', privacyStatus: 'unlisted' }, x: { replySettings: 'following' } },
      createdBy: t.owner.id,
    });
    // Unknown platforms are refused.
    const bad = await t.call('POST', '/templates', { name: 'x', caption: 'y', options: { myspace: {} } });
    expect(bad.statusCode).toBe(400);

    const patched = await t.call('PATCH', `/templates/${id}`, { caption: 'New caption', options: {} });
    expect(patched.json()).toMatchObject({ caption: 'New caption', options: {}, name: 'Weekly tip' });
    expect((await t.call('GET', '/templates')).json()).toHaveLength(1);
    expect((await t.call('DELETE', `/templates/${id}`)).statusCode).toBe(204);
    expect((await t.call('GET', '/templates')).json()).toEqual([]);
    expect((await t.call('PATCH', `/templates/${id}`, { name: 'gone' })).statusCode).toBe(404);
  });
});

describe('ideas and the board', () => {
  it('adds ideas in order, moves them within and across columns, renumbering both', async () => {
    const t = await team();
    const backlog = await addColumn(t, 'Backlog');
    const doing = await addColumn(t, 'Doing');
    const a = await addIdea(t, 'a', backlog, { notes: 'first' });
    await addIdea(t, 'b', backlog);
    const c = await addIdea(t, 'c', backlog);
    await addIdea(t, 'x', doing);
    await addIdea(t, 'front', backlog, { position: 0 });
    expect(await ideaTitles(t.workspaceId, backlog)).toEqual(['0:front', '1:a', '2:b', '3:c']);

    // Within a column.
    const within = await t.call('POST', `/ideas/${c}/move`, { columnId: backlog, position: 1 });
    expect(within.json()).toMatchObject({ id: c, columnId: backlog, position: 1 });
    expect(await ideaTitles(t.workspaceId, backlog)).toEqual(['0:front', '1:c', '2:a', '3:b']);

    // Across columns: the source closes the gap, the destination opens one.
    const across = await t.call('POST', `/ideas/${a}/move`, { columnId: doing, position: 0 });
    expect(across.json()).toMatchObject({ id: a, columnId: doing, position: 0, notes: 'first' });
    expect(await ideaTitles(t.workspaceId, backlog)).toEqual(['0:front', '1:c', '2:b']);
    expect(await ideaTitles(t.workspaceId, doing)).toEqual(['0:a', '1:x']);

    // Off the board and back.
    await t.call('POST', `/ideas/${a}/move`, { columnId: null, position: 0 });
    expect(await ideaTitles(t.workspaceId, null)).toEqual(['0:a']);
    expect(await ideaTitles(t.workspaceId, doing)).toEqual(['0:x']);

    const patched = await t.call('PATCH', `/ideas/${a}`, { title: 'a2', notes: null });
    expect(patched.json()).toMatchObject({ title: 'a2', notes: null, columnId: null });

    // The board: columns in order, each with its ideas and posts by position.
    const p2 = await insertPost(t.workspaceId, doing, 'second post', 1);
    const p1 = await insertPost(t.workspaceId, doing, 'first post', 0);
    await t.call('POST', `/columns/${doing}/move`, { position: 0 });
    const board = await t.call('GET', '/board');
    expect(board.statusCode).toBe(200);
    expect(board.json()).toMatchObject({
      columns: [
        {
          id: doing,
          name: 'Doing',
          position: 0,
          ideas: [{ title: 'x', position: 0 }],
          posts: [
            { id: p1, title: 'first post', approvalState: 'pending' },
            { id: p2, title: 'second post', approvalState: 'pending' },
          ],
        },
        { id: backlog, name: 'Backlog', position: 1, posts: [] },
      ],
      unassignedIdeas: [{ id: a, title: 'a2' }],
    });
    expect(board.json().columns[1].ideas.map((i: { title: string }) => i.title)).toEqual(['front', 'c', 'b']);

    // Moving into an unknown column is 404 and changes nothing.
    const lost = await t.call('POST', `/ideas/${c}/move`, { columnId: randomUUID(), position: 0 });
    expect(lost.statusCode).toBe(404);
    expect(await ideaTitles(t.workspaceId, backlog)).toEqual(['0:front', '1:c', '2:b']);

    expect((await t.call('DELETE', `/ideas/${c}`)).statusCode).toBe(204);
    expect(await ideaTitles(t.workspaceId, backlog)).toEqual(['0:front', '1:b']);
  });

  it('converts an idea into a draft post with a default variant, and removes the idea, in one go', async () => {
    const t = await team();
    const col = await addColumn(t, 'Plan');
    const ideaId = await addIdea(t, 'Summer sale', col, { notes: 'Everything 20% off\nthis week' });
    const after = await addIdea(t, 'after', col);

    const res = await t.call('POST', `/ideas/${ideaId}/convert`);
    expect(res.statusCode, res.body).toBe(201);
    const { postId } = res.json();
    const [post] = await sql<Record<string, unknown>>(
      sys.orm,
      `select workspace_id, title, column_id, requires_approval, approval_state, content_version, created_by_id
         from posts where id = ?`,
      [postId],
    );
    expect(post).toEqual({
      workspace_id: t.workspaceId,
      title: 'Summer sale',
      column_id: col,
      requires_approval: false,
      approval_state: 'not_required',
      content_version: 1,
      created_by_id: t.owner.id,
    });
    const variants = await sql(
      sys.orm,
      'select workspace_id, platform, caption, media, options from post_variants where post_id = ?',
      [postId],
    );
    expect(variants).toEqual([
      {
        workspace_id: t.workspaceId,
        platform: 'default',
        caption: 'Everything 20% off\nthis week',
        media: [],
        options: {},
      },
    ]);
    expect(await sql(sys.orm, 'select 1 from ideas where id = ?', [ideaId])).toHaveLength(0);
    expect(await ideaTitles(t.workspaceId, col)).toEqual(['0:after']);
    expect((await t.call('GET', '/board')).json().columns[0]).toMatchObject({
      ideas: [{ id: after }],
      posts: [{ id: postId, title: 'Summer sale', approvalState: 'not_required' }],
    });

    // A second convert finds no idea and creates nothing.
    const again = await t.call('POST', `/ideas/${ideaId}/convert`);
    expect(again.statusCode).toBe(404);
    expect(await sql(sys.orm, 'select 1 from posts where workspace_id = ?', [t.workspaceId])).toHaveLength(1);
  });
});

describe('tenancy', () => {
  it("gives another workspace's member 404 for every board route, and changes nothing", async () => {
    const a = await team();
    const b = await team();
    const column = await addColumn(b, 'B column');
    const idea = await addIdea(b, 'B idea', column);
    const tag = (await b.call('POST', '/tags', { name: 'B tag' })).json().id;
    const template = (await b.call('POST', '/templates', { name: 'B tpl', caption: 'c' })).json().id;
    const snapshot = async () =>
      JSON.stringify([
        await storedColumns(b.workspaceId),
        await ideaTitles(b.workspaceId, column),
        (await b.call('GET', '/tags')).json(),
        (await b.call('GET', '/templates')).json(),
        await sql(sys.orm, 'select count(*)::int as n from posts where workspace_id = ?', [b.workspaceId]),
      ]);
    const before = await snapshot();

    const paths: [string, string, Record<string, unknown>?][] = [
      ['GET', '/board'],
      ['GET', '/tags'],
      ['POST', '/tags', { name: 'mine' }],
      ['PATCH', `/tags/${tag}`, { name: 'taken over' }],
      ['DELETE', `/tags/${tag}`],
      ['GET', '/columns'],
      ['POST', '/columns', { name: 'mine' }],
      ['PATCH', `/columns/${column}`, { name: 'taken over' }],
      ['POST', `/columns/${column}/move`, { position: 0 }],
      ['DELETE', `/columns/${column}`],
      ['GET', '/templates'],
      ['POST', '/templates', { name: 'mine', caption: 'c' }],
      ['PATCH', `/templates/${template}`, { name: 'taken over' }],
      ['DELETE', `/templates/${template}`],
      ['GET', '/ideas'],
      ['POST', '/ideas', { title: 'mine' }],
      ['PATCH', `/ideas/${idea}`, { title: 'taken over' }],
      ['POST', `/ideas/${idea}/move`, { columnId: null, position: 0 }],
      ['POST', `/ideas/${idea}/convert`],
      ['DELETE', `/ideas/${idea}`],
    ];
    for (const [method, path, payload] of paths) {
      // A in B's workspace, and A's own workspace naming B's rows.
      for (const ws of [b.workspaceId, a.workspaceId]) {
        if (ws === a.workspaceId && !/[0-9a-f]{8}-/.test(path)) continue;
        const res = await sys.app.inject({
          method: method as 'GET',
          url: `/v1/workspaces/${ws}${path}`,
          headers: bearer(a.owner.token),
          ...(payload ? { payload } : {}),
        });
        expect(res.statusCode, `${method} ${ws === a.workspaceId ? '(own workspace) ' : ''}${path}`).toBe(404);
      }
    }
    // A's column cannot take B's idea either.
    const mine = await addColumn(a, 'A column');
    expect((await a.call('POST', `/ideas/${idea}/move`, { columnId: mine, position: 0 })).statusCode).toBe(404);
    // Nor can A file an idea under B's column.
    expect((await a.call('POST', '/ideas', { title: 't', columnId: column })).statusCode).toBe(404);
    expect(await snapshot()).toBe(before);
  });
});
