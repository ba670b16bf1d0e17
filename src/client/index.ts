/**
 * The typed Optline client: `import { createClient } from 'optline/client'`.
 * Types are generated from /openapi.json (src/client/schema.ts, `npm run client:generate`); the runtime is
 * openapi-fetch, so every call is `client.GET('/v1/people/{id}', { params: { path: { id } } })` with the
 * path, parameters, body and responses typed from the document. Errors come back as `error` (problem+json).
 */
import createFetchClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { paths } from './schema.js';

export type { paths, components, operations } from './schema.js';

export interface OptlineClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** Where Optline answers, e.g. http://localhost:8080 */
  baseUrl: string;
  /** An API key: olk_… (business) or ola_… (platform admin). Sent as a bearer token. */
  apiKey?: string;
}

export type OptlineClient = Client<paths>;

export function createClient({ baseUrl, apiKey, headers, ...rest }: OptlineClientOptions): OptlineClient {
  const auth = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  const merged =
    headers && !(headers instanceof Headers) && !Array.isArray(headers) ? { ...headers, ...auth } : (headers ?? auth);
  if (headers && merged === headers && apiKey)
    throw new TypeError('createClient: pass headers as a plain object together with apiKey');
  return createFetchClient<paths>({ baseUrl: baseUrl.replace(/\/+$/, ''), headers: merged, ...rest });
}
