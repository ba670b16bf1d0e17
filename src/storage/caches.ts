import { BusinessCache } from './business/business-cache.js';

/** A value remembered until `until` (wall time). */
interface Remembered<V> {
  value: V;
  until: number;
}

/**
 * Values remembered by key for a while, which a cache watch (services/admin/cache-watch.ts) drops when another
 * process changes what they were read from. `generation` moves on with every drop, so a lookup that began
 * before a drop is not remembered after it; `trusted` is installed by the watch and says whether remembered
 * values may answer now. `undefined` is a miss: a remembered `null` ("there is none") answers like any value.
 */
export class WatchedCache<V> {
  private readonly entries = new Map<string, Remembered<V>>();
  generation = 0;
  trusted: () => boolean;

  /** `trustedWithoutWatch`: whether entries answer (until their expiry) where no watch runs. */
  constructor(
    private readonly ttlMs: number,
    readonly trustedWithoutWatch: boolean,
  ) {
    this.trusted = () => trustedWithoutWatch;
  }

  get(key: string, now: number): V | undefined {
    const hit = this.entries.get(key);
    return hit && hit.until > now && this.trusted() ? hit.value : undefined;
  }

  /** Remembers a lookup begun at `generation` (nothing, when the cache was dropped meanwhile). */
  set(key: string, value: V, generation: number, now: number): void {
    if (generation !== this.generation) return;
    if (this.entries.size > 10_000) this.entries.clear();
    this.entries.set(key, { value, until: now + this.ttlMs });
  }

  /** Drops every remembered value (changed, maybe by another process). */
  dropAll(): void {
    this.entries.clear();
    this.generation += 1;
  }

  /** Drops the values `which` picks (changed through this process). */
  dropWhere(which: (value: V) => boolean): void {
    for (const [k, v] of this.entries) if (which(v.value)) this.entries.delete(k);
    this.generation += 1;
  }
}

/** The verified API keys, by key hash (never the key): every API request authenticates. */
export class KeyCache<V extends { keyId: string }> extends WatchedCache<V> {
  /** When each key's last_used_at was last written (at most once a minute per key). */
  readonly touched = new Map<string, number>();

  constructor(ttlMs: number) {
    // Without a watch (the CLI, tests) a key revoked elsewhere still answers for at most ttlMs.
    super(ttlMs, true);
  }

  /** Drops one key, by its id (revoked through this process). */
  drop(keyId: string): void {
    this.dropWhere((v) => v.keyId === keyId);
  }
}

/** How long a verified key is remembered (where no cache watch runs, the bound on a revocation elsewhere). */
export const KEY_CACHE_TTL_MS = 2000;
/**
 * How long an inbound route (a provider's number or id → its business's channel account) is remembered. Only
 * where the cache watch runs: without one nothing would bound how late a change made elsewhere is seen.
 */
export const ROUTE_CACHE_TTL_MS = 60_000;

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
 * - API keys: dropped by a revocation through this process (`keys.drop`), and by the cache watch when the
 *   shared `cache_versions` row 'api_keys' moves (`keys.dropAll`, bound documented there);
 * - inbound routes (channel accounts by phone_number_id or Twilio number, secrets included): dropped by the cache
 *   watch when the `cache_versions` row 'channel_routes' moves (triggers on every channel write, migration 0018),
 *   and by a channel write through this process; not used where no watch runs.
 */
export class DatabaseCaches {
  /** Businesses and their topics (the gate at enqueue, the worker at claim). */
  readonly businesses = new BusinessCache();
  /** Verified API keys. The value type is the services' Principal; storage only needs its key id. */
  readonly keys = new KeyCache<{ keyId: string } & Record<string, unknown>>(KEY_CACHE_TTL_MS);
  /** Inbound routes: `provider\nexternal id` → the account (null: none). Storage's channel store owns the type. */
  readonly routes = new WatchedCache<unknown>(ROUTE_CACHE_TTL_MS, false);
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
