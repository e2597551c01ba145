use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Crates that must do no I/O, read no clock or environment and pull in no async runtime.
const PURE_MARK: &str = "pure";

/// Source patterns a pure crate must not contain.
const IMPURE_PATTERNS: &[&str] = &[
    "std::fs",
    "std::net::TcpStream",
    "std::net::UdpSocket",
    "std::env",
    "SystemTime::now",
    "Timestamp::now",
    "Instant::now",
    "Zoned::now",
    "tokio::",
];

const IMPURE_DEPENDENCIES: &[&str] = &["tokio", "reqwest", "axum", "object_store", "sqlx"];

/// Who may build a `Principal`: the authenticator, and the model's own unit tests. A principal anywhere else would
/// be a way to reach tenant data without authenticating.
const PRINCIPAL_CONSTRUCTOR: &str = "Principal::authenticated(";
const PRINCIPAL_BUILDERS: &[&str] = &["crates/kuzet-db/src/", "crates/kuzet-model/src/access.rs"];

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

struct Row {
    layer: u32,
    pure: bool,
    allowed: BTreeSet<String>,
}

/// Reads the layering table between `<!-- layering:begin -->` and `<!-- layering:end -->` in ARCHITECTURE.md:
/// `| crate | layer | pure? | may depend on |`.
fn layering(architecture: &str) -> Result<BTreeMap<String, Row>> {
    let start = architecture
        .find("<!-- layering:begin -->")
        .context("ARCHITECTURE.md: no `<!-- layering:begin -->` marker")?;
    let end = architecture
        .find("<!-- layering:end -->")
        .context("ARCHITECTURE.md: no `<!-- layering:end -->` marker")?;
    let mut rows = BTreeMap::new();
    for line in architecture[start..end].lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 6 || !cells[1].starts_with('`') {
            continue;
        }
        let name = cells[1].trim_matches('`').to_owned();
        let layer = cells[2]
            .parse()
            .with_context(|| format!("ARCHITECTURE.md: layer of `{name}` is not a number"))?;
        let allowed = cells[4]
            .split(',')
            .map(|c| c.trim().trim_matches('`').to_owned())
            .filter(|c| c.starts_with("kuzet"))
            .collect();
        rows.insert(
            name,
            Row {
                layer,
                pure: cells[3] == PURE_MARK,
                allowed,
            },
        );
    }
    Ok(rows)
}

/// Returns every problem found; empty when the tree is tidy.
pub fn check(root: &Path) -> Result<Vec<String>> {
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md"))
        .context("ARCHITECTURE.md: cannot read")?;
    let rows = layering(&architecture)?;
    let mut problems = Vec::new();
    let mut on_disk = BTreeSet::new();
    for entry in std::fs::read_dir(root.join("crates")).context("crates/: cannot list")? {
        let dir = entry?.path();
        if !dir.join("Cargo.toml").exists() {
            continue;
        }
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        on_disk.insert(name.clone());
        let manifest: toml::Table = toml::from_str(
            &std::fs::read_to_string(dir.join("Cargo.toml"))
                .with_context(|| format!("{name}/Cargo.toml: cannot read"))?,
        )
        .with_context(|| format!("{name}/Cargo.toml: not TOML"))?;
        let package_name = manifest
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .unwrap_or_default();
        if package_name != name {
            problems.push(format!(
                "crates/{name}: package name `{package_name}` differs from its directory"
            ));
        }
        let Some(row) = rows.get(&name) else {
            problems.push(format!(
                "crate `{name}` is missing from ARCHITECTURE.md's layering table"
            ));
            continue;
        };
        if !architecture.contains(&format!("### `{name}`")) {
            problems.push(format!(
                "crate `{name}` has no `### `{name}`` paragraph in ARCHITECTURE.md's codemap"
            ));
        }
        let deps: BTreeSet<String> = manifest
            .get("dependencies")
            .and_then(|d| d.as_table())
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        for dep in deps.iter().filter(|d| d.starts_with("kuzet")) {
            if !row.allowed.contains(dep) {
                problems.push(format!(
                    "crate `{name}` depends on `{dep}`, which its layer does not allow (allowed: {:?})",
                    row.allowed
                ));
            }
            if let Some(dep_row) = rows.get(dep)
                && dep_row.layer >= row.layer
            {
                problems.push(format!(
                    "crate `{name}` (layer {}) depends on `{dep}` (layer {}): dependencies point down only",
                    row.layer, dep_row.layer
                ));
            }
        }
        let src = dir.join("src");
        let lib = src.join("lib.rs");
        if lib.exists() {
            let text = std::fs::read_to_string(&lib)?;
            if !text.trim_start().starts_with("//!") {
                problems.push(format!(
                    "crates/{name}/src/lib.rs must open with a `//!` doc saying its purpose"
                ));
            }
        }
        if row.pure {
            for dep in deps
                .iter()
                .filter(|d| IMPURE_DEPENDENCIES.contains(&d.as_str()))
            {
                problems.push(format!("pure crate `{name}` depends on `{dep}`"));
            }
            for file in rust_files(&src)? {
                let text = std::fs::read_to_string(&file)?;
                for pattern in IMPURE_PATTERNS {
                    if let Some(line) = text
                        .lines()
                        .position(|l| l.contains(pattern) && !l.trim_start().starts_with("//"))
                    {
                        problems.push(format!(
                            "pure crate `{name}`: {}:{} uses `{pattern}`",
                            file.strip_prefix(root).unwrap_or(&file).display(),
                            line + 1
                        ));
                    }
                }
            }
        }
    }
    for file in rust_files(&root.join("crates"))? {
        let relative = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        if PRINCIPAL_BUILDERS
            .iter()
            .any(|allowed| relative.starts_with(allowed))
        {
            continue;
        }
        let text = std::fs::read_to_string(&file)?;
        if let Some(line) = text.lines().position(|l| l.contains(PRINCIPAL_CONSTRUCTOR)) {
            problems.push(format!(
                "{relative}:{}: only the authenticator in kuzet-db builds a Principal",
                line + 1
            ));
        }
    }
    for name in rows.keys() {
        if !on_disk.contains(name) {
            problems.push(format!(
                "ARCHITECTURE.md lists crate `{name}`, which does not exist under crates/"
            ));
        }
    }
    Ok(problems)
}

fn rust_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if !dir.exists() {
        return Ok(files);
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(rust_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_is_tidy() {
        let problems = check(&workspace_root()).unwrap();
        assert!(
            problems.is_empty(),
            "tidy problems:\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn a_dependency_upwards_is_reported() {
        let table = "<!-- layering:begin -->\n| crate | layer | purity | may depend on |\n|---|---|---|---|\n\
                     | `kuzet-model` | 0 | pure | — |\n| `kuzet-parse` | 1 | pure | `kuzet-model` |\n<!-- layering:end -->";
        let rows = layering(table).unwrap();
        assert!(rows["kuzet-parse"].allowed.contains("kuzet-model"));
        assert!(rows["kuzet-model"].allowed.is_empty());
        assert!(rows["kuzet-model"].pure);
    }
}
