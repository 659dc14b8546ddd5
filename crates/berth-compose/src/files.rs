//! Which files make the project: `-f` files, else `COMPOSE_FILE`, else the first folder
//! from the working directory upwards holding one of Compose's file names (plus its
//! override file); and the project name derived from the folder.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const NAMES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];
const OVERRIDES: &[&str] = &[
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// The file (and override file, when present) found from `dir` upwards.
pub fn find_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut current = Some(dir);
    while let Some(d) = current {
        if let Some(found) = NAMES.iter().map(|n| d.join(n)).find(|p| p.is_file()) {
            let mut files = vec![found];
            if let Some(o) = OVERRIDES.iter().map(|n| d.join(n)).find(|p| p.is_file()) {
                files.push(o);
            }
            return Ok(files);
        }
        current = d.parent();
    }
    Err(Error::NoFile(dir.to_path_buf()))
}

/// Compose's project name rules: lower case, only `[a-z0-9_-]`, starting with a letter
/// or digit.
pub fn normalize_project_name(name: &str) -> String {
    let lowered: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    lowered.trim_start_matches(['_', '-']).to_string()
}

/// The name of the project folder, normalised.
pub fn default_project_name(dir: &Path) -> String {
    let base = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    normalize_project_name(&base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(normalize_project_name("My App.v2"), "myappv2");
        assert_eq!(normalize_project_name("_x-Y"), "x-y");
    }
}
