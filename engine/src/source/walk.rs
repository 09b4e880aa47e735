//! The one directory walker: manifests, policies, policy tests, CRDs and the webhook's reload
//! fingerprint all come from it, so they agree on what a tree holds. It honours `.gitignore`,
//! `.ignore` and hidden-file rules (a checkout's `.gitignore` applies even where git itself is
//! absent, as in a CI tarball), walks in parallel and returns files sorted, so nothing
//! downstream depends on thread scheduling.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// File extensions of manifests (compared without case).
pub const MANIFEST_EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// Whether a path names a manifest file by its extension.
pub fn is_manifest_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| MANIFEST_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// What one walk collects.
pub struct WalkRules<'a> {
    /// Follow symbolic links. Policy directories mounted from ConfigMaps are symlinks through
    /// `..data` (the hidden `..data` and `..<timestamp>` entries themselves are skipped, so
    /// nothing is read twice); link loops are detected and reported.
    pub follow_links: bool,
    /// Entries (files or directories) the walk passes over entirely, before `accept`.
    /// (`(path, is_dir)`; a plain function: the walker's filter outlives this call).
    pub skip: fn(&Path, bool) -> bool,
    /// Files the walk returns.
    pub accept: &'a (dyn Fn(&Path) -> bool + Sync),
}

impl std::fmt::Debug for WalkRules<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalkRules")
            .field("follow_links", &self.follow_links)
            .finish_non_exhaustive()
    }
}

/// What a walk found: files in sorted order, and every problem met on the way.
#[derive(Debug, Default)]
pub struct Walked {
    pub files: Vec<PathBuf>,
    pub errors: Vec<String>,
}

/// Walks `root`: a directory, recursively, or a single file (returned as it is, whatever
/// `accept` says: a file named explicitly is always read).
pub fn walk(root: &Path, rules: &WalkRules<'_>) -> Walked {
    if !root.is_dir() {
        return Walked {
            files: vec![root.to_path_buf()],
            errors: Vec::new(),
        };
    }
    let files = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    ignore::WalkBuilder::new(root)
        .require_git(false)
        .follow_links(rules.follow_links)
        .filter_entry({
            let skip = rules.skip;
            move |entry| {
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                !skip(entry.path(), is_dir)
            }
        })
        .build_parallel()
        .run(|| {
            Box::new(|entry| {
                match entry {
                    Ok(entry) => {
                        let is_file = entry.file_type().is_some_and(|t| t.is_file());
                        if is_file && (rules.accept)(entry.path()) {
                            if let Ok(mut files) = files.lock() {
                                files.push(entry.into_path());
                            }
                        }
                    }
                    Err(e) => {
                        if let Ok(mut errors) = errors.lock() {
                            errors.push(e.to_string());
                        }
                    }
                }
                ignore::WalkState::Continue
            })
        });
    let mut files = files.into_inner().unwrap_or_default();
    files.sort();
    files.dedup();
    let mut errors = errors.into_inner().unwrap_or_default();
    errors.sort();
    Walked { files, errors }
}

/// Rules that take every file, following links (policy tests, the webhook's reload
/// fingerprint: the same files the policy loader sees, and the rest beside them).
pub fn everything() -> WalkRules<'static> {
    WalkRules {
        follow_links: true,
        skip: |_, _| false,
        accept: &|_| true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_filtered_and_honouring_gitignore_and_hidden_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for rel in [
            "b/z.yaml",
            "b/a.yml",
            "a.JSON",
            "c/skip/x.yaml",
            "notes.txt",
            "vendor/v.yaml",
            ".hidden/h.yaml",
        ] {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, "x").expect("write");
        }
        std::fs::write(root.join(".gitignore"), "vendor/\n").expect("write");
        fn skip(p: &Path, is_dir: bool) -> bool {
            is_dir && p.ends_with("skip")
        }
        let walked = walk(
            root,
            &WalkRules {
                follow_links: false,
                skip,
                accept: &is_manifest_file,
            },
        );
        let rel: Vec<_> = walked
            .files
            .iter()
            .map(|p| {
                p.strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect();
        assert_eq!(rel, ["a.JSON", "b/a.yml", "b/z.yaml"]);
        assert!(walked.errors.is_empty(), "{:?}", walked.errors);
        let file = root.join("notes.txt");
        assert_eq!(walk(&file, &everything()).files, [file]);
    }
}
