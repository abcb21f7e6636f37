// The web build's JavaScript and CSS through rolldown (Vite's bundler and oxc's minifier) and
// lightningcss (Vite's CSS minifier), both pinned in package.json; called by `cargo xtask build`:
//   node xtask/js/bundle.mjs bundle <entry.js> <out.js>  one minified ES module: entry + what it imports
//   node xtask/js/bundle.mjs minify <file.js>...         each file minified in place (exports keep names)
//   node xtask/js/bundle.mjs css <in.css> <out.css>      the stylesheet minified
import { transform } from 'lightningcss';
import { rolldown } from 'rolldown';
import { minifySync } from 'rolldown/utils';
import { readFileSync, writeFileSync } from 'node:fs';

const [mode, ...files] = process.argv.slice(2);
if (mode === 'bundle') {
    const [input, file] = files;
    const bundle = await rolldown({ input, logLevel: 'warn' });
    await bundle.write({ file, format: 'es', minify: true });
    await bundle.close();
} else if (mode === 'minify') {
    for (const file of files) {
        const out = minifySync(file, readFileSync(file, 'utf8'), {
            module: true,
            compress: true,
            mangle: { toplevel: true },
        });
        if (out.errors?.length) {
            throw new Error(`${file}: ${out.errors.map((e) => e.message).join('; ')}`);
        }
        writeFileSync(file, out.code);
    }
} else if (mode === 'css') {
    const [input, file] = files;
    const { code } = transform({ filename: input, code: readFileSync(input), minify: true });
    writeFileSync(file, code);
} else {
    throw new Error(`unknown mode: ${mode}`);
}
