//! Manifests from git: the staged content of changed files (`--staged`) and a snapshot of the
//! same paths at another revision (`--diff-base`). Built on `git2` (libgit2, no network
//! features).

use git2::{Delta, DiffFindOptions, DiffOptions, ObjectType, Repository, Tree};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum GitError {
    #[error("not inside a git repository ({0})")]
    NotARepository(String),
    #[error("the repository has no working directory (a bare repository)")]
    Bare,
    #[error("unknown revision {rev:?}: {message}")]
    UnknownRevision { rev: String, message: String },
    #[error("{0}")]
    Git(#[from] git2::Error),
    #[error("{path}: not valid UTF-8 text")]
    NotUtf8 { path: String },
}

use crate::source::walk::is_manifest_file as is_manifest;

/// A file's text, named as the user would name it (relative to the working directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitFile {
    /// `Source::Git` with the path as the user would name it.
    pub source: crate::source::Source,
    pub text: String,
}

impl GitFile {
    /// The name reports show (`k8s/web.yaml`, `origin/main:k8s/web.yaml`).
    pub fn name(&self) -> String {
        self.source.to_string()
    }
}

/// The repository around the working directory.
pub struct Repo {
    repo: Repository,
    workdir: PathBuf,
    /// The working directory, relative to the repository root.
    cwd: PathBuf,
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo")
            .field("workdir", &self.workdir)
            .field("cwd", &self.cwd)
            .finish()
    }
}

impl Repo {
    /// Opens the repository that contains `cwd`.
    pub fn discover(cwd: &Path) -> Result<Self, GitError> {
        let repo = Repository::discover(cwd)
            .map_err(|e| GitError::NotARepository(e.message().to_owned()))?;
        let workdir = repo.workdir().ok_or(GitError::Bare)?.to_path_buf();
        let workdir = workdir.canonicalize().unwrap_or(workdir);
        let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
        let cwd = cwd
            .strip_prefix(&workdir)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        Ok(Self { repo, workdir, cwd })
    }

    /// Where git looks for hooks: `core.hooksPath` (relative to the working directory root)
    /// or `.git/hooks`.
    pub fn hooks_dir(&self) -> Result<PathBuf, GitError> {
        let config = self.repo.config()?;
        match config.get_path("core.hooksPath") {
            Ok(path) if path.is_absolute() => Ok(path),
            Ok(path) => Ok(self.workdir.join(path)),
            Err(_) => Ok(self.repo.path().join("hooks")),
        }
    }

    /// Files a directory walk would pass over too: hidden files and directories (`.github/`,
    /// `.pre-commit-config.yaml`, `.kubegate.yaml`), kustomization files, and Helm chart
    /// directories (templates are not YAML until rendered).
    fn passed_over(&self, path: &Path) -> bool {
        let hidden = path
            .components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
        let kustomization = crate::source::render::is_kustomization_file(path);
        let in_chart = path
            .ancestors()
            .skip(1)
            .any(|dir| self.workdir.join(dir).join("Chart.yaml").is_file());
        hidden || kustomization || in_chart
    }

    /// A user-given path (relative to the working directory) as a repository path.
    fn repo_path(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
            return path
                .strip_prefix(&self.workdir)
                .map(Path::to_path_buf)
                .unwrap_or(path);
        }
        crate::source::normalize(&self.cwd.join(path))
    }

    /// A repository path as the user would name it (relative to the working directory).
    fn display(&self, repo_path: &Path) -> String {
        let relative = crate::source::relative_to(repo_path, &self.cwd);
        relative.to_string_lossy().replace('\\', "/")
    }

    /// Whether `repo_path` is one of, or under one of, `scopes` (all when empty).
    fn in_scope(repo_path: &Path, scopes: &[PathBuf]) -> bool {
        scopes.is_empty()
            || scopes
                .iter()
                .any(|s| s.as_os_str().is_empty() || repo_path.starts_with(s))
    }

    fn tree(&self, rev: &str) -> Result<Tree<'_>, GitError> {
        let object = self
            .repo
            .revparse_single(rev)
            .map_err(|e| GitError::UnknownRevision {
                rev: rev.to_owned(),
                message: e.message().to_owned(),
            })?;
        Ok(object.peel_to_tree()?)
    }

    fn blob_text(&self, id: git2::Oid, path: &Path) -> Result<String, GitError> {
        let blob = self.repo.find_blob(id)?;
        String::from_utf8(blob.content().to_vec()).map_err(|_| GitError::NotUtf8 {
            path: self.display(path),
        })
    }

    /// Staged content of the manifest files added, modified, copied or renamed in the index
    /// (compared with HEAD; everything in a repository without commits), under `paths`.
    /// Deleted files are left out: there is nothing to check.
    pub fn staged(&self, paths: &[PathBuf]) -> Result<Vec<GitFile>, GitError> {
        let scopes: Vec<PathBuf> = paths.iter().map(|p| self.repo_path(p)).collect();
        let head = match self.repo.head() {
            Ok(h) => Some(h.peel_to_tree()?),
            Err(_) => None,
        };
        let index = self.repo.index()?;
        let mut options = DiffOptions::new();
        options.include_typechange(true);
        let mut diff =
            self.repo
                .diff_tree_to_index(head.as_ref(), Some(&index), Some(&mut options))?;
        diff.find_similar(Some(DiffFindOptions::new().renames(true).copies(true)))?;
        let mut files = Vec::new();
        for delta in diff.deltas() {
            if !matches!(
                delta.status(),
                Delta::Added | Delta::Modified | Delta::Renamed | Delta::Copied | Delta::Typechange
            ) {
                continue;
            }
            let file = delta.new_file();
            let Some(path) = file.path() else { continue };
            if !is_manifest(path) || !Self::in_scope(path, &scopes) || self.passed_over(path) {
                continue;
            }
            files.push(GitFile {
                source: crate::source::Source::Git {
                    rev: None,
                    path: self.display(path),
                },
                text: self.blob_text(file.id(), path)?,
            });
        }
        files.sort_by_cached_key(GitFile::name);
        Ok(files)
    }

    /// Every path added, modified, copied or renamed in the index (compared with HEAD), of
    /// any kind of file, as the user would name it: what a `--staged` run judges objects from
    /// (a changed patch or generator source re-renders the kustomizations that read it).
    pub fn staged_paths(&self) -> Result<Vec<String>, GitError> {
        let head = match self.repo.head() {
            Ok(h) => Some(h.peel_to_tree()?),
            Err(_) => None,
        };
        let index = self.repo.index()?;
        let mut diff = self
            .repo
            .diff_tree_to_index(head.as_ref(), Some(&index), None)?;
        diff.find_similar(Some(DiffFindOptions::new().renames(true).copies(true)))?;
        let mut out: Vec<String> = diff
            .deltas()
            .filter(|d| {
                matches!(
                    d.status(),
                    Delta::Added
                        | Delta::Modified
                        | Delta::Renamed
                        | Delta::Copied
                        | Delta::Typechange
                )
            })
            .filter_map(|d| d.new_file().path().map(|p| self.display(p)))
            .collect();
        out.sort();
        Ok(out)
    }

    /// Every manifest file in the index (what the commit will hold), as [`Repo::staged`]
    /// reads them: the context a `--staged` run judges the changed files in.
    pub fn index_files(&self) -> Result<Vec<GitFile>, GitError> {
        let index = self.repo.index()?;
        let mut files = Vec::new();
        for entry in index.iter() {
            let path = PathBuf::from(String::from_utf8_lossy(&entry.path).into_owned());
            if !is_manifest(&path) || self.passed_over(&path) {
                continue;
            }
            files.push(GitFile {
                source: crate::source::Source::Git {
                    rev: None,
                    path: self.display(&path),
                },
                text: self.blob_text(entry.id, &path)?,
            });
        }
        files.sort_by_cached_key(GitFile::name);
        Ok(files)
    }

    /// Whether the index holds a kustomization file.
    pub fn index_has_kustomizations(&self) -> Result<bool, GitError> {
        let index = self.repo.index()?;
        let found = index.iter().any(|e| {
            let path = String::from_utf8_lossy(&e.path).into_owned();
            crate::source::render::is_kustomization_file(Path::new(&path))
        });
        Ok(found)
    }

    /// Writes the index's files (the tree the commit will hold) under `dir`, and returns the
    /// directory there that corresponds to the working directory.
    pub fn export_index(&self, dir: &Path) -> Result<PathBuf, GitError> {
        let mut index = self.repo.index()?;
        let mut checkout = git2::build::CheckoutBuilder::new();
        checkout.target_dir(dir).force().update_index(false);
        self.repo
            .checkout_index(Some(&mut index), Some(&mut checkout))?;
        Ok(dir.join(&self.cwd))
    }

    /// The manifest files under `paths` as they were at `rev`. A file named explicitly that was
    /// renamed since is found under its old name.
    pub fn snapshot(&self, rev: &str, paths: &[PathBuf]) -> Result<Vec<GitFile>, GitError> {
        let tree = self.tree(rev)?;
        let mut wanted: Vec<PathBuf> = Vec::new();
        let mut scopes: Vec<PathBuf> = Vec::new();
        for p in paths {
            let repo_path = self.repo_path(p);
            if self.workdir.join(&repo_path).is_file() {
                wanted.push(repo_path);
            } else {
                scopes.push(repo_path);
            }
        }
        // Renamed files: map their current names back to the names they had at `rev`.
        if !wanted.is_empty() {
            let mut diff = self
                .repo
                .diff_tree_to_workdir_with_index(Some(&tree), None)?;
            diff.find_similar(Some(DiffFindOptions::new().renames(true)))?;
            for delta in diff.deltas().filter(|d| d.status() == Delta::Renamed) {
                if let (Some(old), Some(new)) = (delta.old_file().path(), delta.new_file().path()) {
                    for w in wanted.iter_mut().filter(|w| w.as_path() == new) {
                        *w = old.to_path_buf();
                    }
                }
            }
        }
        let mut files = Vec::new();
        let mut error = None;
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() != Some(ObjectType::Blob) {
                return git2::TreeWalkResult::Ok;
            }
            let path = Path::new(dir).join(entry.name().unwrap_or_default());
            let selected =
                wanted.contains(&path) || (!scopes.is_empty() && Self::in_scope(&path, &scopes));
            if selected && is_manifest(&path) {
                match self.blob_text(entry.id(), &path) {
                    Ok(text) => files.push(GitFile {
                        source: crate::source::Source::Git {
                            rev: Some(rev.to_owned()),
                            path: self.display(&path),
                        },
                        text,
                    }),
                    Err(e) => error = Some(e),
                }
            }
            git2::TreeWalkResult::Ok
        })?;
        if let Some(e) = error {
            return Err(e);
        }
        files.sort_by_cached_key(GitFile::name);
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            crate::source::relative_to(Path::new("deploy/a.yaml"), Path::new("")),
            PathBuf::from("deploy/a.yaml")
        );
        assert_eq!(
            crate::source::relative_to(Path::new("deploy/a.yaml"), Path::new("deploy")),
            PathBuf::from("a.yaml")
        );
        assert_eq!(
            crate::source::relative_to(Path::new("other/a.yaml"), Path::new("deploy/prod")),
            PathBuf::from("../../other/a.yaml")
        );
        assert_eq!(
            crate::source::normalize(Path::new("deploy/./prod/../a.yaml")),
            PathBuf::from("deploy/a.yaml")
        );
    }
}
