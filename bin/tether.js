#!/usr/bin/env node
// The `tether` command. The CLI lives in dist/ after `npm run build`.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('tether is not built: run npm run build');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv);
