import { AppError } from '../domain/errors.js';

/** Cursors are opaque to clients: base64url of the last id seen. */
export function encodeCursor(lastId: string | undefined, hasMore: boolean): string | null {
  return hasMore && lastId ? Buffer.from(JSON.stringify({ a: lastId })).toString('base64url') : null;
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (!cursor) return undefined;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { a?: unknown };
    if (typeof v.a === 'string' && v.a.length < 100) return v.a;
  } catch {
    // fall through
  }
  throw new AppError('INVALID_CURSOR', 'The cursor is not one this API issued; start again without it.', [
    { field: 'querystring.cursor', message: 'is not a valid cursor' },
  ]);
}

/** Fetches limit+1 rows to know whether there is a next page. */
export function paginate<T extends { id: string }>(rows: T[], limit: number): { data: T[]; nextCursor: string | null } {
  const hasMore = rows.length > limit;
  const data = hasMore ? rows.slice(0, limit) : rows;
  return { data, nextCursor: encodeCursor(data[data.length - 1]?.id, hasMore) };
}
