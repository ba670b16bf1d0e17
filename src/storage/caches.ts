import { BusinessCache } from './business/business-cache.js';

/** A value remembered until `until` (wall time). */
interface Remembered<V> {
  value: V;
  until: number;
}

/**
 * The verified API keys, by key hash (never the key): every API request authenticates, and a key verified a
 * moment ago answers without a database read. `generation` moves on with every drop, so a lookup that began
 * before a drop is not remembered after it; `trusted` is installed by the key-cache watch
 * (services/admin/key-cache-watch.ts) and says whether remembered keys may answer now.
 */
export class KeyCache<V extends { keyId: string }> {
  private readonly entries = new Map<string, Remembered<V>>();
  /** When each key's last_used_at was last written (at most once a minute per key). */
  readonly touched = new Map<string, number>();
  generation = 0;
  trusted: () => boolean = () => true;

  constructor(private readonly ttlMs: number) {}

  get(hash: string, now: number): V | undefined {
    const hit = this.entries.get(hash);
    return hit && hit.until > now && this.trusted() ? hit.value : undefined;
  }

  /** Remembers a lookup begun at `generation` (nothing, when keys were dropped meanwhile). */
  set(hash: string, value: V, generation: number, now: number): void {
    if (generation !== this.generation) return;
    if (this.entries.size > 10_000) this.entries.clear();
    this.entries.set(hash, { value, until: now + this.ttlMs });
  }

  /** Drops every remembered key (a key was revoked, maybe by another process). */
  dropAll(): void {
    this.entries.clear();
    this.generation += 1;
  }

  /** Drops one key, by its id (revoked through this process). */
  drop(keyId: string): void {
    for (const [h, v] of this.entries) if (v.value.keyId === keyId) this.entries.delete(h);
    this.generation += 1;
  }
}

/** How long a verified key is remembered when no key-cache watch runs (the CLI, some tests). */
export const KEY_CACHE_TTL_MS = 2000;

/**
 * Every in-memory cache of one database handle, and the helpers bound to it, created with the handle
 * (storage/db.ts `database.caches`) and gone with it. A process normally has one handle; tests open several to
 * play several processes, and nothing is shared between them. Nothing else in the code keeps state across
 * requests: a new cache goes here.
 *
 * Invalidation, in one place:
 * - businesses, topics, texts, policies, channels and paused templates: `businesses.config_version`, bumped by
 *   triggers in the writing transaction (migration 0005) and compared on every use (BusinessCache), so no drop is
 *   ever needed;
 * - API keys: dropped by a revocation through this process (`keys.drop`), and by the key-cache watch when the
 *   shared `cache_versions` row 'api_keys' moves (`keys.dropAll`, bound documented there).
 */
export class DatabaseCaches {
  /** Businesses and their topics (the gate at enqueue, the worker at claim). */
  readonly businesses = new BusinessCache();
  /** Verified API keys. The value type is the services' Principal; storage only needs its key id. */
  readonly keys = new KeyCache<{ keyId: string } & Record<string, unknown>>(KEY_CACHE_TTL_MS);
  private readonly bound = new Map<symbol, unknown>();

  /**
   * A helper bound to this handle (a group committer, prepared reads, the opt-in writer), made on first use.
   * Each owner module names its helper by a symbol of its own.
   */
  bind<T>(name: symbol, make: () => T): T {
    let v = this.bound.get(name) as T | undefined;
    if (v === undefined) this.bound.set(name, (v = make()));
    return v;
  }

  /** The helper if it was made (no creation). */
  peek<T>(name: symbol): T | undefined {
    return this.bound.get(name) as T | undefined;
  }
}
