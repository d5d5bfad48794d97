//! Embeds every file under `hosted-pages/` (templates, strings, CSS, images) so the binary runs
//! from any folder and a new page needs no list to be kept by hand.

use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = fs::read_dir(dir).expect("hosted-pages is readable").map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            walk(root, &path, out);
        } else {
            let name = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            if name.starts_with('.') || name.contains("/.") {
                continue;
            }
            out.push((name, path.canonicalize().unwrap().to_string_lossy().into_owned()));
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../hosted-pages");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    walk(&root, &root, &mut files);
    for (_, path) in &files {
        println!("cargo:rerun-if-changed={path}");
    }
    let mut code = String::from(
        "/// Every file under `hosted-pages/`, by its path there.\npub static FILES: &[(&str, &str)] = &[\n",
    );
    for (name, path) in &files {
        writeln!(code, "    ({name:?}, include_str!({path:?})),").unwrap();
    }
    code.push_str("];\n");
    fs::write(Path::new(&env::var("OUT_DIR").unwrap()).join("files.rs"), code).unwrap();
}
