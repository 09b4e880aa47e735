//! Rendering kustomizations (`kustomize build` / `kubectl kustomize`) and Helm charts
//! (`helm template`) into manifest streams, so findings can name the rendered position and the
//! kustomization or chart template it came from.

use crate::source::Source;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use thiserror::Error;

/// How directories are rendered.
#[derive(Debug, Clone)]
pub struct RenderSettings {
    pub kustomize: bool,
    pub helm: bool,
    /// `helm template --values` files.
    pub helm_values: Vec<PathBuf>,
    /// `helm template --set` assignments.
    pub helm_set: Vec<String>,
    /// A chart a walk meets that cannot be rendered (no helm) is an error, not a note.
    pub helm_required: bool,
}

impl Default for RenderSettings {
    fn default() -> Self {
        Self {
            kustomize: true,
            helm: true,
            helm_values: Vec::new(),
            helm_set: Vec::new(),
            helm_required: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum RenderError {
    #[error("{0} is a kustomization, but neither kustomize nor kubectl is on PATH to render it")]
    NoKustomize(String),
    #[error("{0} is a Helm chart, but helm is not on PATH to render it (install helm, or render with `helm template` and pipe the output to `kubegate check -`)")]
    NoHelm(String),
    #[error("{command} failed: {stderr}")]
    Failed { command: String, stderr: String },
}

/// A rendered directory: what to call its output, the text, and the file behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The directory and the tool: named `deploy/overlays/prod (kustomize build)`.
    pub source: crate::source::Source,
    pub text: String,
    /// The kustomization file or chart, named on every object that has no `# Source:` comment.
    pub origin: String,
}

pub(crate) fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
}

pub(crate) fn run(program: &str, args: &[String]) -> Result<String, RenderError> {
    let command = format!("{program} {}", args.join(" "));
    tracing::debug!(%command, "rendering");
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| RenderError::Failed {
            command: command.clone(),
            stderr: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(RenderError::Failed {
            command,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    String::from_utf8(out.stdout).map_err(|_| RenderError::Failed {
        command,
        stderr: "output is not UTF-8".into(),
    })
}

/// Renders the Helm chart in `dir` with `helm template` (kustomizations are rendered by
/// [`render_kustomize_root`], with origin tracking).
pub fn render_chart(dir: &Path, settings: &RenderSettings) -> Result<Rendered, RenderError> {
    let shown = dir.display().to_string();
    if !on_path("helm") {
        return Err(RenderError::NoHelm(shown));
    }
    let release = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("release")
        .to_owned();
    let mut args = vec!["template".to_owned(), release, shown];
    for values in &settings.helm_values {
        args.extend(["--values".to_owned(), values.display().to_string()]);
    }
    for set in &settings.helm_set {
        args.extend(["--set".to_owned(), set.clone()]);
    }
    run("helm", &args).map(|text| Rendered {
        source: crate::source::Source::Rendered {
            dir: dir.to_path_buf(),
            tool: "helm template",
        },
        text,
        origin: dir.join("Chart.yaml").display().to_string(),
    })
}

/// The file names kustomize reads, in the order it looks for them.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Whether `path` is named like a kustomization file.
pub fn is_kustomization_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| KUSTOMIZATION_FILES.contains(&n))
}

/// The kustomization file of `dir`, if it is a kustomization.
pub fn kustomization_file(dir: &Path) -> Option<PathBuf> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
}

/// A kustomize root's output, rendered through a generated wrapper kustomization (in a
/// temporary directory: the user's files are not touched) that turns on kustomize's origin
/// and transformer annotations.
#[derive(Debug)]
pub struct RenderedRoot {
    pub source: Source,
    pub text: String,
    /// The wrapper's directory (canonical): origin paths are relative to it.
    pub base: PathBuf,
}

static WRAPPERS: AtomicUsize = AtomicUsize::new(0);

/// Renders the kustomization `root` with `program` (`kustomize` or `kubectl`).
pub fn render_kustomize_root(
    root: &Path,
    program: &'static str,
) -> Result<RenderedRoot, RenderError> {
    let failed = |stderr: String| RenderError::Failed {
        command: format!("{program} build {}", root.display()),
        stderr,
    };
    // A fresh directory of our own: `create_dir` fails on an existing path (or a planted
    // link), and the next name is tried.
    let mut attempt = 0;
    let wrapper = loop {
        let n = WRAPPERS.fetch_add(1, Ordering::Relaxed);
        let candidate = std::env::temp_dir().join(format!(
            "kubegate-kustomize-{}-{n}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        ));
        match std::fs::create_dir(&candidate) {
            Ok(()) => break candidate,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 16 => {
                attempt += 1;
            }
            Err(e) => {
                return Err(failed(format!(
                    "cannot create {}: {e}",
                    candidate.display()
                )))
            }
        }
    };
    let result = (|| {
        let base = wrapper.canonicalize().map_err(|e| failed(e.to_string()))?;
        let target = root
            .canonicalize()
            .map_err(|e| failed(format!("cannot resolve {}: {e}", root.display())))?;
        let relative = crate::source::relative_to(&target, &base);
        let text = format!(
            "# Generated by kubegate to render {} with origin tracking.\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- {}\nbuildMetadata: [originAnnotations]\n",
            root.display(),
            serde_json::to_string(&relative.display().to_string()).unwrap_or_default()
        );
        std::fs::write(base.join("kustomization.yaml"), text).map_err(|e| failed(e.to_string()))?;
        let args: Vec<String> = if program == "kustomize" {
            vec!["build".into(), base.display().to_string()]
        } else {
            vec!["kustomize".into(), base.display().to_string()]
        };
        let text = run(program, &args).map_err(|e| match e {
            RenderError::Failed { stderr, .. } => {
                failed(stderr.replace(&format!("{}/", base.display()), ""))
            }
            other => other,
        })?;
        Ok(RenderedRoot {
            source: Source::Rendered {
                dir: root.to_path_buf(),
                tool: if program == "kustomize" {
                    "kustomize build"
                } else {
                    "kubectl kustomize"
                },
            },
            text,
            base,
        })
    })();
    let _ = std::fs::remove_dir_all(&wrapper);
    result
}
