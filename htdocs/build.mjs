// build.mjs — bundles the Mail log UI (src/main.jsx) into dist/main.js and
// dist/main.css with esbuild, for both the Plesk page and the standalone page.
//
// Contract: the output is self-contained — Plesk UI library styles, its Open
// Sans fonts and its icon sprite are copied into dist/ from node_modules;
// nothing is fetched from another origin at run time. Asset URLs are resolved
// against the URL main.js was loaded from (document.currentScript), so the same
// bundle works under /modules/mail-log/dist/ (Plesk) and /dist/ (standalone).
// Usage: node build.mjs [--dev]   (--dev: unminified, React development build)
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const dev = process.argv.includes('--dev');
const outdir = 'dist';

// Images imported from JavaScript (the icon sprite, empty-view pictures):
// copied to dist/ under their own name, imported as a URL next to main.js.
const scriptRelativeAssets = {
    name: 'script-relative-assets',
    setup(build) {
        const copied = new Map();
        build.onResolve({ filter: /\.(svg|png)$/ }, (args) => {
            if (args.kind !== 'import-statement') return undefined; // CSS url(): file loader
            return { path: path.join(args.resolveDir, args.path), namespace: 'maillog-asset' };
        });
        build.onLoad({ filter: /.*/, namespace: 'maillog-asset' }, (args) => {
            const name = path.basename(args.path);
            const prev = copied.get(name);
            if (prev && prev !== args.path) throw new Error(`asset name clash: ${name}`);
            copied.set(name, args.path);
            return {
                contents: `import base from 'maillog:asset-base'; export default base + ${JSON.stringify(name)};`,
                loader: 'js',
                resolveDir: path.dirname(args.path),
            };
        });
        build.onResolve({ filter: /^maillog:asset-base$/ }, () => ({ path: 'asset-base', namespace: 'maillog' }));
        build.onLoad({ filter: /.*/, namespace: 'maillog' }, () => ({
            contents: `const s = typeof document !== 'undefined' ? document.currentScript : null;
                       export default s && s.src ? s.src.replace(/[^/]*$/, '') : './dist/';`,
            loader: 'js',
        }));
        build.onEnd(() => {
            fs.mkdirSync(outdir, { recursive: true });
            for (const [name, from] of copied) fs.copyFileSync(from, path.join(outdir, name));
        });
    },
};

fs.rmSync(outdir, { recursive: true, force: true });
await esbuild.build({
    entryPoints: { main: 'src/main.jsx' },
    bundle: true,
    outdir,
    format: 'iife',
    target: ['chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    minify: !dev,
    sourcemap: dev ? 'inline' : false,
    legalComments: 'linked',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': JSON.stringify(dev ? 'development' : 'production') },
    // Fonts and images referenced by the library's CSS: copied under dist/assets/.
    loader: { '.woff': 'file', '.woff2': 'file', '.svg': 'file', '.png': 'file' },
    assetNames: 'assets/[name]',
    plugins: [scriptRelativeAssets],
});
console.log(`ui: built ${outdir}/main.js, ${outdir}/main.css`);
