// Builds the web dashboard (web/) into dist/web: one hashed script and one hashed stylesheet,
// minified, and index.html pointing at them. The hub serves that folder at `/`
// (src/hub/api/dashboard.ts). Part of `npm run build`, so `npm start` and `npm test` build it.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const out = join(root, 'dist', 'web');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const result = await build({
  entryPoints: [join(root, 'web', 'src', 'main.tsx')],
  outdir: join(out, 'assets'),
  entryNames: 'app-[hash]',
  bundle: true,
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

const outputs = Object.keys(result.metafile.outputs).map((file) => join(root, file));
const script = outputs.find((f) => f.endsWith('.js'));
const style = outputs.find((f) => f.endsWith('.css'));
if (script === undefined || style === undefined) throw new Error(`build-web: expected a .js and a .css output, got ${outputs.join(', ')}`);
const tags = `<link rel="stylesheet" href="/assets/${basename(style)}" />\n    <script type="module" src="/assets/${basename(script)}"></script>`;
const page = readFileSync(join(root, 'web', 'index.html'), 'utf8').replace(/<!-- build-web\.js .*-->/, tags);
if (!page.includes(basename(script))) throw new Error('build-web: web/index.html lost its "<!-- build-web.js … -->" placeholder');
writeFileSync(join(out, 'index.html'), page);

const gz = (file) => gzipSync(readFileSync(file), { level: 9 }).length;
const total = gz(script) + gz(style) + gz(join(out, 'index.html'));
if (process.argv.includes('--sizes')) {
  for (const f of [script, style]) console.log(`${basename(f)}: ${(readFileSync(f).length / 1024).toFixed(1)} KB, ${(gz(f) / 1024).toFixed(1)} KB gzipped`);
  console.log(`dashboard total (script, stylesheet, page): ${(total / 1024).toFixed(1)} KB gzipped`);
}
