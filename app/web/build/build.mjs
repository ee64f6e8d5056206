// Bundles entry.js (and the `ai` package it names) into one browser ES module.
//
//   node build.mjs [OUTFILE]      default: ../static/vendor/ai-chat.js
//
// The bytes depend only on package-lock.json's versions and the options here (esbuild is
// deterministic), so tests/web/test_bundle.py builds it again and compares.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outfile = resolve(process.argv[2] ?? resolve(here, '../static/vendor/ai-chat.js'));
// Resolved as the bundle's imports are: from here upwards (the test builds in a copy).
const version = (name) =>
  JSON.parse(readFileSync(createRequire(import.meta.url).resolve(`${name}/package.json`), 'utf8'))
    .version;

await build({
  absWorkingDir: here,
  entryPoints: ['entry.js'],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  legalComments: 'eof',
  banner: {
    js: `// The AI SDK's Chat for the playground: ai ${version('ai')} (Apache-2.0),` +
      ` zod ${version('zod')} (MIT).\n// Built by \`make web\` from app/web/build: do not edit.`,
  },
  logLevel: 'warning',
});
