// The web build's JavaScript and CSS through rolldown (Vite's bundler and oxc's minifier) and
// lightningcss (Vite's CSS minifier), both pinned in package.json; called by `cargo xtask build`:
//   node xtask/js/bundle.mjs bundle <entry.js> <out.js>  one minified ES module: entry + what it imports
//   node xtask/js/bundle.mjs css <in.css> <out.css>      the stylesheet minified
import { transform } from 'lightningcss';
import { rolldown } from 'rolldown';
import { readFileSync, writeFileSync } from 'node:fs';

const [mode, ...files] = process.argv.slice(2);
if (mode === 'bundle') {
    const [input, file] = files;
    const bundle = await rolldown({ input, logLevel: 'warn' });
    await bundle.write({ file, format: 'es', minify: true });
    await bundle.close();
} else if (mode === 'css') {
    const [input, file] = files;
    const { code } = transform({ filename: input, code: readFileSync(input), minify: true });
    writeFileSync(file, code);
} else {
    throw new Error(`unknown mode: ${mode}`);
}
