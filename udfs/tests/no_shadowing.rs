//! No Persona function name or alias equals a DataFusion built-in function (scalar, aggregate,
//! window or table function) of `SessionContext::new()`, so `register_all` never replaces
//! DataFusion behaviour, and no two Persona functions share a name. Function names are looked
//! up case-insensitively (unquoted identifiers are lower-cased), so they are compared lower-cased.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::common::Result;
use datafusion::prelude::SessionContext;

/// Every Persona name and alias, lower-cased, with the function and kind it belongs to.
fn persona_names() -> Vec<(String, String)> {
    let mut names = Vec::new();
    for f in persona_udfs::scalar_functions() {
        for n in std::iter::once(f.name()).chain(f.aliases().iter().map(String::as_str)) {
            names.push((n.to_lowercase(), format!("scalar function {}", f.name())));
        }
    }
    for f in persona_udfs::aggregate_functions() {
        for n in std::iter::once(f.name()).chain(f.aliases().iter().map(String::as_str)) {
            names.push((n.to_lowercase(), format!("aggregate function {}", f.name())));
        }
    }
    for f in persona_udfs::window_functions() {
        for n in std::iter::once(f.name()).chain(f.aliases().iter().map(String::as_str)) {
            names.push((n.to_lowercase(), format!("window function {}", f.name())));
        }
    }
    names
}

/// DataFusion's built-in function names (with aliases), lower-cased, with their kind.
fn builtin_names(ctx: &SessionContext) -> BTreeMap<String, &'static str> {
    let state = ctx.state();
    let mut names = BTreeMap::new();
    // the registries are keyed by name and by every alias
    for (name, f) in state.scalar_functions() {
        names.insert(name.to_lowercase(), "scalar");
        for alias in f.aliases() {
            names.insert(alias.to_lowercase(), "scalar");
        }
    }
    for (name, f) in state.aggregate_functions() {
        names.insert(name.to_lowercase(), "aggregate");
        for alias in f.aliases() {
            names.insert(alias.to_lowercase(), "aggregate");
        }
    }
    for (name, f) in state.window_functions() {
        names.insert(name.to_lowercase(), "window");
        for alias in f.aliases() {
            names.insert(alias.to_lowercase(), "window");
        }
    }
    for name in state.table_functions().keys() {
        names.insert(name.to_lowercase(), "table");
    }
    names
}

#[test]
fn no_persona_name_shadows_a_datafusion_builtin() -> Result<()> {
    let builtins = builtin_names(&SessionContext::new());
    // the registry is the one with DataFusion's functions (not an empty or partial one)
    for (name, kind) in
        [("sum", "aggregate"), ("abs", "scalar"), ("row_number", "window"), ("approx_percentile_cont", "aggregate")]
    {
        assert_eq!(builtins.get(name).copied(), Some(kind), "{name} is a DataFusion {kind} function");
    }
    assert!(builtins.len() > 300, "DataFusion registers hundreds of functions, found {}", builtins.len());

    let persona = persona_names();
    assert!(persona.len() >= 30, "Persona has ~37 functions, found {}", persona.len());
    let shadowing: Vec<String> = persona
        .iter()
        .filter_map(|(name, owner)| {
            builtins.get(name).map(|kind| format!("{owner}: {name:?} is a DataFusion {kind} function"))
        })
        .collect();
    assert!(shadowing.is_empty(), "Persona names shadow DataFusion built-ins:\n{}", shadowing.join("\n"));
    Ok(())
}

#[test]
fn persona_names_are_unique() -> Result<()> {
    let persona = persona_names();
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    let mut duplicates = BTreeSet::new();
    for (name, owner) in &persona {
        if let Some(first) = seen.insert(name.as_str(), owner.as_str()) {
            duplicates.insert(format!("{name:?}: {first} and {owner}"));
        }
    }
    assert!(duplicates.is_empty(), "names used twice: {duplicates:?}");
    Ok(())
}

#[test]
fn register_all_adds_every_function_and_replaces_none() -> Result<()> {
    let plain = SessionContext::new().state();
    let ctx = SessionContext::new();
    persona_udfs::register_all(&ctx)?;
    let state = ctx.state();
    // each registry holds one entry per name and per alias
    let scalar: usize = persona_udfs::scalar_functions().iter().map(|f| 1 + f.aliases().len()).sum();
    let aggregate: usize = persona_udfs::aggregate_functions().iter().map(|f| 1 + f.aliases().len()).sum();
    let window: usize = persona_udfs::window_functions().iter().map(|f| 1 + f.aliases().len()).sum();
    assert_eq!(state.scalar_functions().len(), plain.scalar_functions().len() + scalar, "scalar functions");
    assert_eq!(state.aggregate_functions().len(), plain.aggregate_functions().len() + aggregate, "aggregates");
    assert_eq!(state.window_functions().len(), plain.window_functions().len() + window, "window functions");
    Ok(())
}
