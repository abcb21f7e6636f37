//! Short import and export names for the browser builds' wasm (SDK, Connect UI, dashboard) and their
//! wasm-bindgen glue.
//!
//! wasm-bindgen names what a module imports and exports after Rust paths and hashes
//! (`__wbg___wbindgen_is_undefined_be5b34249ff1fc15`, `__wbg_createElement_…`,
//! `nango_handleRedirectResult`, and a snippet file's path once per imported function), and every
//! name ships twice: in the wasm and in the glue. Binaryen's `--minify-imports-and-exports-and-modules`
//! renames them all (one import module, `a` in binaryen 132, names `A`, `B`, …) and prints the
//! mapping; this module applies that mapping to the glue, so that the two still meet. The mapping
//! leaves out the new module name: it is read back from the minified wasm, which must import from
//! that one module only. Measured on 2026-12-04 (gzip): the Connect UI 82,296 → 76,451 B, the SDK
//! about 1.4 KB of its 23 (budgets.toml has the figures).
//!
//! The glue is wasm-bindgen's output at the version the lockfile pins, and the rewrite checks every
//! assumption it makes about it: each import is renamed exactly once, the imports object is where it
//! is expected, every import comes from the glue or a snippet. A wasm-bindgen upgrade that changes the
//! glue's shape fails the build here (its unit tests show the shape), not in a browser; the e2e tests
//! load all three builds.

use anyhow::{ensure, Context as _};
use regex::{Captures, NoExpand, Regex};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Prefix of the glue's local bindings of renamed snippet functions (the bundler renames them
/// again; the prefix only keeps them clear of the glue's own names).
const LOCAL: &str = "__lk_";

/// `wasm-opt`'s mapping (`{"imports": [[module, base, new]], "exports": [[old, new]]}`).
#[derive(serde::Deserialize)]
struct Mapping {
    imports: Vec<(String, String, String)>,
    exports: Vec<(String, String)>,
}

/// Minifies the names of `<out_name>_bg.wasm` in `dir` with `wasm_opt` (given `features`) and
/// rewrites `<out_name>.js` to match.
pub fn names(dir: &Path, out_name: &str, wasm_opt: &Path, features: &[&str]) -> anyhow::Result<()> {
    let wasm = dir.join(format!("{out_name}_bg.wasm"));
    let out = Command::new(wasm_opt)
        .args(features)
        .arg("--minify-imports-and-exports-and-modules")
        .arg("-o")
        .arg(&wasm)
        .arg(&wasm)
        .output()
        .with_context(|| format!("running {}", wasm_opt.display()))?;
    ensure!(
        out.status.success(),
        "wasm-opt could not minify {}: {}",
        wasm.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mapping: Mapping = serde_json::from_slice(&out.stdout)
        .context("wasm-opt's minification mapping is not the JSON expected")?;
    let module = import_module(&std::fs::read(&wasm)?)
        .with_context(|| format!("reading the imports of {}", wasm.display()))?;
    let glue_path = dir.join(format!("{out_name}.js"));
    let glue = std::fs::read_to_string(&glue_path)?;
    let glue = rewrite(&glue, &format!("./{out_name}_bg.js"), &module, &mapping)?;
    std::fs::write(&glue_path, glue)?;
    Ok(())
}

/// The one module every import of `wasm` comes from.
fn import_module(wasm: &[u8]) -> anyhow::Result<String> {
    let mut modules = std::collections::BTreeSet::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::ImportSection(section) = payload? {
            for import in section.into_imports() {
                modules.insert(import?.module.to_string());
            }
        }
    }
    ensure!(
        modules.len() == 1,
        "the minified wasm imports from {modules:?}, not from one module"
    );
    Ok(modules.into_iter().next().expect("one module"))
}

/// The glue with the mapping applied: the intrinsics object's keys renamed, the snippet
/// namespaces replaced by named imports under the new names, one import module (`module`, the
/// minified wasm's), and the exports called by their new names.
fn rewrite(
    glue: &str,
    own_module: &str,
    module: &str,
    mapping: &Mapping,
) -> anyhow::Result<String> {
    // `import * as importN from "./snippets/…"`: one per imported snippet function.
    let namespace = Regex::new(r#"(?m)^import \* as import\d+ from "(\./snippets/[^"]+)";?\n"#)?;
    let mut glue = namespace.replace_all(glue, "").into_owned();

    let mut snippets: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    let mut own = Vec::new();
    for (module, base, new) in &mapping.imports {
        if module == own_module {
            own.push((base.as_str(), new.as_str()));
        } else {
            ensure!(
                module.starts_with("./snippets/"),
                "the wasm imports from {module}, which the glue rewrite does not know"
            );
            snippets
                .entry(module)
                .or_default()
                .push((base.as_str(), new.as_str()));
        }
    }

    // The intrinsics wasm-bindgen defines in the glue: `        <name>: function(`.
    for (base, new) in &own {
        let key = Regex::new(&format!(r"(?m)^(\s+){}: function\(", regex::escape(base)))?;
        ensure!(
            key.find_iter(&glue).count() == 1,
            "the glue defines the import {base} other than once"
        );
        // Minified names may hold `$`: a closure's replacement is taken literally.
        glue = key
            .replace(&glue, |c: &Captures| format!("{}{new}: function(", &c[1]))
            .into_owned();
    }

    // The object the module is instantiated with: one module, the intrinsics and the snippets'
    // functions under their new names.
    let returned = Regex::new(r#"(?s)return \{\s*__proto__: null,\s*"[^"]+": import0,[^}]*\};"#)?;
    ensure!(
        returned.find_iter(&glue).count() == 1,
        "the glue's imports object is not where the rewrite expects it"
    );
    let mut entries = String::from("...import0");
    let mut imports = String::new();
    for (module, functions) in &snippets {
        let bindings: Vec<String> = functions
            .iter()
            .map(|(base, new)| {
                entries.push_str(&format!(", {new}: {LOCAL}{new}"));
                format!("{base} as {LOCAL}{new}")
            })
            .collect();
        imports.push_str(&format!(
            "import {{ {} }} from \"{module}\";\n",
            bindings.join(", ")
        ));
    }
    let object = format!(
        "return {{ __proto__: null, {}: {{ {entries} }} }};",
        serde_json::to_string(module)?
    );
    glue = returned.replace(&glue, NoExpand(&object)).into_owned();
    glue.insert_str(0, &imports);

    for (old, new) in &mapping.exports {
        let call = Regex::new(&format!(r"\bwasm\.{}\b", regex::escape(old)))?;
        let renamed = format!("wasm.{new}");
        glue = call.replace_all(&glue, NoExpand(&renamed)).into_owned();
    }
    let leftover = glue.matches("from \"./snippets/").count();
    ensure!(
        leftover == snippets.len(),
        "the glue still imports snippets the rewrite did not map"
    );
    Ok(glue)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of wasm-bindgen 0.2's `--target web` glue, cut down to one of each kind of name.
    const GLUE: &str = r#"import * as import1 from "./snippets/sdk-1/inline0.js"
import * as import2 from "./snippets/sdk-1/inline0.js"

function __wbg_get_imports() {
    const import0 = {
        __proto__: null,
        __wbg___wbindgen_throw_4c88: function(arg0, arg1) {
            throw new Error(getStringFromWasm0(arg0, arg1));
        },
    };
    return {
        __proto__: null,
        "./sdk_bg.js": import0,
        "./snippets/sdk-1/inline0.js": import1,
        "./snippets/sdk-1/inline0.js": import2,
    };
}
export function nango_new(a) { return wasm.nango_new(a) + wasm.nango_newer(a) + wasm.memory.buffer; }
"#;

    fn mapping() -> Mapping {
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        Mapping {
            imports: vec![
                (
                    "./sdk_bg.js".into(),
                    "__wbg___wbindgen_throw_4c88".into(),
                    "$1".into(),
                ),
                (
                    "./snippets/sdk-1/inline0.js".into(),
                    "listen".into(),
                    "b".into(),
                ),
                (
                    "./snippets/sdk-1/inline0.js".into(),
                    "post".into(),
                    "c".into(),
                ),
            ],
            exports: vec![
                pair("nango_new", "d"),
                pair("nango_newer", "e"),
                pair("memory", "$f"),
            ],
        }
    }

    #[test]
    fn every_name_is_renamed_where_the_glue_uses_it() {
        let glue = rewrite(GLUE, "./sdk_bg.js", "a", &mapping()).unwrap();
        assert!(glue.starts_with(
            "import { listen as __lk_b, post as __lk_c } from \"./snippets/sdk-1/inline0.js\";\n"
        ));
        assert!(!glue.contains("import * as"), "{glue}");
        assert!(glue.contains("        $1: function(arg0, arg1)"), "{glue}");
        assert!(glue
            .contains("return { __proto__: null, \"a\": { ...import0, b: __lk_b, c: __lk_c } };"));
        // Exported names are renamed as whole words: `nango_new` is not a prefix of `nango_newer`.
        assert!(
            glue.contains("wasm.d(a) + wasm.e(a) + wasm.$f.buffer"),
            "{glue}"
        );
        // The glue's own function of the same name is not an export access: it stays.
        assert!(glue.contains("export function nango_new(a)"));
    }

    /// A wasm module that imports a function `f` from `first` and `g` from `second`.
    fn importing(first: &str, second: &str) -> Vec<u8> {
        let mut imports = vec![2u8];
        for (module, name) in [(first, "f"), (second, "g")] {
            for text in [module, name] {
                imports.push(text.len() as u8);
                imports.extend_from_slice(text.as_bytes());
            }
            imports.extend_from_slice(&[0x00, 0x00]); // a function of type 0
        }
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend_from_slice(&[0x01, 0x04, 0x01, 0x60, 0x00, 0x00]); // type 0: () -> ()
        wasm.extend_from_slice(&[0x02, imports.len() as u8]);
        wasm.extend_from_slice(&imports);
        wasm
    }

    #[test]
    fn the_glue_names_the_import_module_the_wasm_has() {
        assert_eq!(import_module(&importing("a", "a")).unwrap(), "a");
        assert_eq!(import_module(&importing("m", "m")).unwrap(), "m");
        assert!(import_module(&importing("a", "b")).is_err());
        let glue = rewrite(GLUE, "./sdk_bg.js", "m", &mapping()).unwrap();
        assert!(glue.contains("return { __proto__: null, \"m\": { ...import0,"));
    }

    #[test]
    fn a_glue_of_another_shape_fails_the_build() {
        let unknown_import = GLUE.replace("__wbg___wbindgen_throw_4c88: function", "x: function");
        assert!(rewrite(&unknown_import, "./sdk_bg.js", "a", &mapping()).is_err());
        let no_object = GLUE.replace("\"./sdk_bg.js\": import0,", "");
        assert!(rewrite(&no_object, "./sdk_bg.js", "a", &mapping()).is_err());
        let mut foreign = mapping();
        foreign.imports.push(("env".into(), "f".into(), "g".into()));
        assert!(rewrite(GLUE, "./sdk_bg.js", "a", &foreign).is_err());
    }
}
