import {
  sql,
  type DatabaseIntrospector,
  type DatabaseMetadata,
  type Dialect,
  type Kysely,
  type SchemaMetadata,
  type TableMetadata,
} from 'kysely';

/**
 * What Kysely's migrator asks a PostgreSQL database ("does this schema / this table exist?"), answered from the
 * catalog for the current schema only.
 *
 * Kysely's own introspector lists every table of every schema and calls `pg_get_serial_sequence` and
 * `has_schema_privilege` by *name* for each; when another deployment on the same server (or another test run)
 * drops its schema at that moment, those name lookups fail with "schema … does not exist" and the migration
 * aborts. Reading `pg_class`/`pg_namespace` by oid for our own schema has no such race and stays fast on a
 * server with thousands of schemas.
 */
export class CurrentSchemaIntrospector implements DatabaseIntrospector {
  constructor(private readonly db: Kysely<unknown>) {}

  async getSchemas(): Promise<SchemaMetadata[]> {
    const r = await sql<{ name: string }>`select nspname as name from pg_catalog.pg_namespace`.execute(this.db);
    return r.rows.map((x) => ({ name: x.name }));
  }

  async getTables(): Promise<TableMetadata[]> {
    const r = await sql<{ name: string; schema: string; kind: string }>`
      select c.relname as name, n.nspname as schema, c.relkind as kind
        from pg_catalog.pg_class c
        join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       where n.nspname = current_schema() and c.relkind in ('r', 'p', 'v', 'm')
       order by c.relname`.execute(this.db);
    return r.rows.map((x) => ({
      name: x.name,
      schema: x.schema,
      isView: x.kind === 'v' || x.kind === 'm',
      columns: [],
    }));
  }

  async getMetadata(): Promise<DatabaseMetadata> {
    return { tables: await this.getTables() };
  }
}

/** The same dialect, with the introspector above. */
export function withCurrentSchemaIntrospector(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createDriver: () => dialect.createDriver(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => new CurrentSchemaIntrospector(db),
  };
}
