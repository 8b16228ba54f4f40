import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A file the dashboard serves as is. */
export interface Asset {
  readonly body: string;
  readonly type: string;
}

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The front end's own files: `public/` next to `src/` and `dist/`. */
const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));

/**
 * The browser modules of the front end's two libraries, served from their installed packages under
 * the names the page's import map gives them: no bundler, no CDN.
 */
function vendorFiles(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const preact = require.resolve('preact');
  const hooks = require.resolve('preact/hooks');
  // htm's CommonJS entry sits next to its ES module build.
  const htm = join(dirname(require.resolve('htm')), 'htm.module.js');
  return { 'preact.js': preact, 'hooks.js': hooks, 'htm.js': htm };
}

/** Reads every asset once: `static/<file>` from `public/` and `vendor/<name>` from the libraries. */
export function loadAssets(): { page: string; files: ReadonlyMap<string, Asset> } {
  const files = new Map<string, Asset>();
  for (const name of readdirSync(PUBLIC_DIR)) {
    const type = TYPES[extname(name)];
    if (!type || name === 'index.html') continue;
    files.set(`static/${name}`, { body: readFileSync(join(PUBLIC_DIR, name), 'utf8'), type });
  }
  for (const [name, path] of Object.entries(vendorFiles())) {
    files.set(`vendor/${name}`, { body: readFileSync(path, 'utf8'), type: TYPES['.js'] as string });
  }
  return { page: readFileSync(join(PUBLIC_DIR, 'index.html'), 'utf8'), files };
}
