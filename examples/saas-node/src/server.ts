/** Starts the example: `npm start` (after `npm run build`); settings in README.md. */
import { createApp } from "./app.js";
import { configFromEnv } from "./config.js";

const config = configFromEnv();
const server = createApp(config).listen(config.port, config.host, () => {
  console.log(`saas-node on http://${config.host}:${config.port} (Tenantry at ${config.tenantryUrl})`);
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
