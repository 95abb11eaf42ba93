//! What `cargo package` would publish: the sources and their documents, none of the test
//! fixtures, fuzz corpora, bench data or generated assets (screenshots, recordings,
//! completions); and the metadata crates.io shows.

use std::process::Command;

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

fn manifest() -> toml::Table {
    std::fs::read_to_string(format!("{MANIFEST_DIR}/Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn the_package_holds_sources_and_documents_only() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["package", "--list", "--allow-dirty", "--offline"])
        .current_dir(MANIFEST_DIR)
        .output()
        .expect("run cargo package --list");
    assert!(out.status.success(), "{out:?}");
    let list = String::from_utf8(out.stdout).unwrap();
    let files: Vec<&str> = list.lines().collect();
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "config.example.toml",
        "LICENSE",
        "src/main.rs",
        "src/lib.rs",
        // Embedded by include_str!: without it the published crate would not build.
        "src/prefs/default_keys.toml",
    ] {
        assert!(files.contains(&needed), "{needed} missing from {files:?}");
    }
    let unwanted: Vec<&&str> = files
        .iter()
        .filter(|f| {
            [
                "tests/",
                "benches/",
                "bench/",
                "fuzz/",
                "scripts/",
                "examples/",
                "assets/",
                ".ci/",
            ]
            .iter()
            .any(|dir| f.starts_with(dir))
                || f.ends_with(".snap")
        })
        .collect();
    assert!(unwanted.is_empty(), "would be published: {unwanted:?}");
}

#[test]
fn the_metadata_is_complete() {
    let package = manifest()["package"].as_table().unwrap().clone();
    for key in [
        "description",
        "license",
        "repository",
        "readme",
        "keywords",
        "categories",
        "rust-version",
    ] {
        assert!(package.contains_key(key), "Cargo.toml lacks package.{key}");
    }
    let keywords = package["keywords"].as_array().unwrap();
    assert!(keywords.len() <= 5, "crates.io takes at most 5 keywords");
    assert!(
        package["repository"]
            .as_str()
            .unwrap()
            .starts_with("https://github.com/")
    );
}
