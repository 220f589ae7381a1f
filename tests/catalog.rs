//! The function catalogue: every function documented, docs/functions.md and the README
//! in sync, SHOW FUNCTIONS listing them. `PERSONA_BLESS=1 cargo test --test catalog`
//! rewrites docs/functions.md.

mod common;

use std::path::PathBuf;

use persona::catalog::{functions, markdown};
use persona::EngineBuilder;

fn repo_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name)
}

#[test]
fn every_function_is_documented() {
    for f in functions() {
        let doc = f.doc.unwrap_or_else(|| panic!("{} has no #[user_doc]", f.name));
        assert!(doc.description.len() > 40, "{}: description too short", f.name);
        assert!(doc.sql_example.is_some(), "{}: no SQL example", f.name);
        assert!(doc.syntax_example.starts_with(&f.name), "{}: syntax example {}", f.name, doc.syntax_example);
    }
}

#[test]
fn docs_functions_md_is_up_to_date() {
    let path = repo_file("docs/functions.md");
    let generated = markdown();
    if std::env::var_os("PERSONA_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/functions.md");
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(on_disk == generated, "docs/functions.md is stale: run PERSONA_BLESS=1 cargo test --test catalog");
}

#[test]
fn readme_links_the_reference_and_names_every_function() {
    let readme = std::fs::read_to_string(repo_file("README.md")).expect("README.md");
    assert!(readme.contains("docs/functions.md"));
    for f in functions() {
        assert!(readme.contains(&format!("`{}`", f.name)), "README.md does not mention `{}`", f.name);
    }
}

#[tokio::test]
async fn show_functions_lists_them() {
    let ctx = EngineBuilder::new().build().await.expect("engine");
    for f in functions() {
        let found = common::rows(&ctx, &format!("SHOW FUNCTIONS LIKE '{}'", f.name)).await;
        assert!(!found.is_empty(), "SHOW FUNCTIONS does not list {}", f.name);
    }
}
