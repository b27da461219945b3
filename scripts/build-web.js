// Builds the web dashboard (web/) into dist/web: a hashed entry script, the hashed chunks it
// shares with the pages loaded when first opened (web/src/lazy-page.tsx), those pages' own
// chunks, one hashed stylesheet, all minified, and index.html pointing at the entry, the
// stylesheet and the chunks the entry imports (modulepreload, so the browser fetches them with
// the entry, not after it). The hub serves that folder at `/` (src/hub/api/dashboard.ts). Part of
// `npm run build`, so `npm start` and `npm test` build it.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const out = join(root, 'dist', 'web');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const entry = join(root, 'web', 'src', 'main.tsx');
const result = await build({
  entryPoints: [entry],
  outdir: join(out, 'assets'),
  entryNames: 'app-[hash]',
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  minify: true,
  format: 'esm',
  target: ['chrome109', 'firefox115', 'safari15.4'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
  legalComments: 'linked',
});

const outputs = Object.entries(result.metafile.outputs);
const [script, main] = outputs.find(([, o]) => o.entryPoint !== undefined && join(root, o.entryPoint) === entry) ?? [];
const style = main?.cssBundle;
if (script === undefined || main === undefined || style === undefined) throw new Error(`build-web: expected an entry script with its stylesheet, got ${outputs.map(([f]) => f).join(', ')}`);
// What the entry imports statically is needed before anything shows; the dynamic imports wait for their page.
const preloads = main.imports.filter((i) => i.kind === 'import-statement').map((i) => i.path);
const asset = (file) => `/assets/${basename(file)}`;
const tags = [
  `<link rel="stylesheet" href="${asset(style)}" />`,
  ...preloads.map((p) => `<link rel="modulepreload" href="${asset(p)}" />`),
  `<script type="module" src="${asset(script)}"></script>`,
].join('\n    ');
const page = readFileSync(join(root, 'web', 'index.html'), 'utf8').replace(/<!-- build-web\.js .*-->/, tags);
if (!page.includes(basename(script))) throw new Error('build-web: web/index.html lost its "<!-- build-web.js … -->" placeholder');
writeFileSync(join(out, 'index.html'), page);

if (process.argv.includes('--sizes')) {
  const gz = (file) => gzipSync(readFileSync(file), { level: 9 }).length;
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  const first = [script, style, ...preloads].map((f) => join(root, f));
  for (const [file] of outputs.filter(([f]) => !f.endsWith('.map') && !f.endsWith('.LEGAL.txt'))) {
    const full = join(root, file);
    console.log(`${relative(out, full)}: ${kb(readFileSync(full).length)}, ${kb(gz(full))} gzipped${first.includes(full) ? ' (first load)' : ''}`);
  }
  const total = first.reduce((sum, f) => sum + gz(f), gz(join(out, 'index.html')));
  console.log(`dashboard's first load (page, stylesheet, entry and the chunks it imports): ${kb(total)} gzipped`);
}
