//! Where text comes from: files and directories, standard input, git blobs (the index, another
//! revision) and the output of renderers (Helm, kustomize).

#[cfg(feature = "git")]
pub mod git;
pub mod render;
pub mod walk;

use std::fmt;
use std::path::{Component, Path, PathBuf};

/// `path` without `.` components and with each `..` taken back where it can be (`a/./b/../c`
/// → `a/c`; a leading `..` stays). Purely lexical: symbolic links are not resolved.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) => {}
                _ => out.push(".."),
            },
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `path` relative to `base` (both absolute or both relative to the same directory, both
/// normalized), with `..` where needed.
pub fn relative_to(path: &Path, base: &Path) -> PathBuf {
    let path: Vec<_> = path.components().collect();
    let base: Vec<_> = base.components().collect();
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..base.len() {
        out.push("..");
    }
    for c in &path[common..] {
        out.push(c.as_os_str());
    }
    out
}

/// Where a text came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file, by the path as given (a relative path stays relative).
    File(PathBuf),
    /// Standard input.
    Stdin,
    /// A file's blob in git: the index (`rev: None`, `--staged`) or a revision (`--diff-base`);
    /// `path` as the user would name it (relative to the working directory).
    Git { rev: Option<String>, path: String },
    /// What a renderer made of a directory (`tool`: `kustomize build`, `kubectl kustomize`,
    /// `helm template`).
    Rendered { dir: PathBuf, tool: &'static str },
    /// The object of one admission request, described (`CREATE Pod shop/web uid …`).
    Admission(String),
    /// A text given in memory under a name (tools and tests).
    Named(String),
}

impl fmt::Display for Source {
    /// The name findings carry: the path, `<stdin>`, `rev:path`, `dir (tool)`,
    /// `admission:…`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Stdin => f.write_str("<stdin>"),
            Source::Git { rev: None, path } => f.write_str(path),
            Source::Git {
                rev: Some(rev),
                path,
            } => write!(f, "{rev}:{path}"),
            Source::Rendered { dir, tool } => write!(f, "{} ({tool})", dir.display()),
            Source::Admission(what) => write!(f, "admission:{what}"),
            Source::Named(name) => f.write_str(name),
        }
    }
}

/// A text, where it came from, and the name people see for it (kept for source excerpts).
#[derive(Debug)]
pub struct SourceFile {
    pub source: Source,
    /// `source` as shown to people and in every report ([`Source`]'s `Display`).
    pub name: String,
    pub text: String,
    /// Byte offset of each line's start, built on the first excerpt: most files never need it.
    line_starts: std::sync::OnceLock<Vec<usize>>,
}

impl SourceFile {
    pub fn new(source: Source, text: String) -> Self {
        Self {
            name: source.to_string(),
            source,
            text,
            line_starts: std::sync::OnceLock::new(),
        }
    }

    /// The text of one 1-based line, without its line break (`\n` or `\r\n`).
    pub fn line(&self, line: u32) -> Option<&str> {
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        let start = *starts.get(index)?;
        let end = starts
            .get(index + 1)
            .map_or(self.text.len(), |next| next - 1);
        if start > self.text.len() || (start == self.text.len() && index > 0) {
            return None;
        }
        let text = &self.text[start..end];
        Some(text.strip_suffix('\r').unwrap_or(text))
    }
}

#[cfg(test)]
mod tests {
    use super::Source;
    use std::path::PathBuf;

    /// The names reports have always shown, now derived from the source.
    #[test]
    fn sources_are_named_as_before() {
        let cases = [
            (Source::File(PathBuf::from("k8s/web.yaml")), "k8s/web.yaml"),
            (Source::Stdin, "<stdin>"),
            (
                Source::Git {
                    rev: None,
                    path: "k8s/web.yaml".into(),
                },
                "k8s/web.yaml",
            ),
            (
                Source::Git {
                    rev: Some("origin/main".into()),
                    path: "k8s/web.yaml".into(),
                },
                "origin/main:k8s/web.yaml",
            ),
            (
                Source::Rendered {
                    dir: PathBuf::from("k8s/overlays/prod"),
                    tool: "kustomize build",
                },
                "k8s/overlays/prod (kustomize build)",
            ),
            (
                Source::Admission("CREATE Pod shop/web".into()),
                "admission:CREATE Pod shop/web",
            ),
        ];
        for (source, name) in cases {
            assert_eq!(source.to_string(), name);
        }
    }
}
