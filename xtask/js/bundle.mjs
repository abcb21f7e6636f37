// The web build's JavaScript through rolldown (Vite's bundler and oxc's minifier, pinned in
// package.json), called by `cargo xtask build`:
//   node xtask/js/bundle.mjs bundle <entry.js> <out.js>  one minified ES module: entry + what it imports
//   node xtask/js/bundle.mjs minify <file.js>...         each file minified in place (exports keep names)
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
} else {
    throw new Error(`unknown mode: ${mode}`);
}
