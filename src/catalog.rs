//! The function catalogue: Persona's functions and their `#[user_doc]` documentation,
//! rendered as the Markdown of docs/functions.md and `persona functions`.

use std::collections::BTreeMap;
use std::fmt::Write;

use datafusion::logical_expr::Documentation;

/// One documented function.
pub struct FunctionEntry {
    pub name: String,
    pub kind: &'static str,
    pub doc: Option<Documentation>,
}

/// Every Persona function, sorted by name.
#[must_use]
pub fn functions() -> Vec<FunctionEntry> {
    let mut entries: Vec<FunctionEntry> = persona_udfs::scalar_functions()
        .iter()
        .map(|f| FunctionEntry { name: f.name().to_string(), kind: "scalar", doc: f.documentation().cloned() })
        .chain(persona_udfs::aggregate_functions().iter().map(|f| FunctionEntry {
            name: f.name().to_string(),
            kind: "aggregate",
            doc: f.documentation().cloned(),
        }))
        .chain(persona_udfs::window_functions().iter().map(|f| FunctionEntry {
            name: f.name().to_string(),
            kind: "window",
            doc: f.documentation().cloned(),
        }))
        .collect();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    entries
}

/// docs/functions.md: the functions grouped by documentation section.
#[must_use]
pub fn markdown() -> String {
    let mut sections: BTreeMap<&str, Vec<FunctionEntry>> = BTreeMap::new();
    for entry in functions() {
        let label = entry.doc.as_ref().map_or("Other Functions", |d| d.doc_section.label);
        sections.entry(label).or_default().push(entry);
    }
    let mut out = String::from(
        "# Persona SQL functions\n\n\
         <!-- Generated from the functions' #[user_doc] by `persona functions`; \
         tests/catalog.rs checks that this file is up to date. -->\n\n",
    );
    for (label, entries) in &sections {
        let _ = writeln!(
            out,
            "- {label}: {}",
            entries.iter().map(|e| format!("[`{}`](#{})", e.name, e.name)).collect::<Vec<_>>().join(", ")
        );
    }
    for (label, entries) in sections {
        let _ = write!(out, "\n## {label}\n");
        for entry in entries {
            let _ = write!(out, "\n### {}\n\n*{} function*\n\n", entry.name, entry.kind);
            let Some(doc) = entry.doc else {
                out.push_str("Undocumented.\n");
                continue;
            };
            let _ = write!(out, "{}\n\n```sql\n{}\n```\n", doc.description, doc.syntax_example);
            if let Some(arguments) = &doc.arguments {
                out.push_str("\n#### Arguments\n\n");
                for (name, description) in arguments {
                    let _ = writeln!(out, "- **{name}**: {description}");
                }
            }
            if let Some(example) = &doc.sql_example {
                let _ = write!(out, "\n#### Example\n\n{example}\n");
            }
        }
    }
    out
}
