//! Embeds every JSON document under `schemas/` into the binary, so that the catalog and the
//! message schemas ship with it and adding an integration is adding one file.

use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

fn main() {
    // Read at run time, not with `env!`: the compiled build script is shared by every checkout
    // that builds into one target dir (their packages hash alike), and `env!` would point them
    // all at the checkout that compiled it first.
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join("../schemas");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut out = String::from("pub(crate) const SCHEMA_FILES: &[(&str, &str)] = &[\n");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    for path in files {
        println!("cargo:rerun-if-changed={}", path.display());
        let rel = path
            .strip_prefix(&root)
            .expect("under schemas/")
            .to_string_lossy()
            .replace('\\', "/");
        let abs = fs::canonicalize(&path).expect("canonical path");
        writeln!(
            out,
            "    ({rel:?}, include_str!({:?})),",
            abs.display().to_string()
        )
        .expect("write to string");
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("schema_files.rs");
    fs::write(dest, out).expect("write schema_files.rs");
}

fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    // A missing schemas/ must fail the build: an empty catalog would only fail at start-up.
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
}
