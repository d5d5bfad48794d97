/** The example's settings, from the environment (see README.md). */
export interface Config {
  /** Where the browser reaches Tenantry (its `public_url`); also the tokens' issuer. */
  tenantryUrl: string;
  /** A backend API key (`tenantry api-key create`), for the routes that call the backend API. */
  apiKey: string | undefined;
  /** Where this app listens. */
  host: string;
  port: number;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    tenantryUrl: (env.TENANTRY_URL ?? "http://localhost:8080").replace(/\/+$/, ""),
    apiKey: env.TENANTRY_API_KEY || undefined,
    host: env.HOST ?? "localhost",
    port: Number(env.PORT ?? 3000),
  };
}
