// The request schemas (schemas.ts), imported on first use: zod costs a good deal of memory, and a server that
// only serves the page and streams events never needs it. Routes: `(await schemas()).CreateBody.parse(…)`.
type Schemas = typeof import('./schemas.js');

let loaded: Promise<Schemas> | undefined;

export function schemas(): Promise<Schemas> {
  return (loaded ??= import('./schemas.js'));
}
