//! Rendering kustomizations (`kustomize build` / `kubectl kustomize`) and Helm charts
//! (`helm template`) into manifest streams, so findings can name the rendered position and the
//! kustomization or chart template it came from.

use std::path::{Path, PathBuf};
use std::process::Command;
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
}

impl Default for RenderSettings {
    fn default() -> Self {
        Self {
            kustomize: true,
            helm: true,
            helm_values: Vec::new(),
            helm_set: Vec::new(),
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

/// What a directory is, if it is something to render.
pub fn kind_of(dir: &Path) -> Option<&'static str> {
    if ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .any(|f| dir.join(f).is_file())
    {
        Some("kustomize")
    } else if dir.join("Chart.yaml").is_file() {
        Some("helm")
    } else {
        None
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
}

fn run(program: &str, args: &[String]) -> Result<String, RenderError> {
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

/// Renders `dir` if it is a kustomization or a chart (and rendering it is enabled).
pub fn render(dir: &Path, settings: &RenderSettings) -> Option<Result<Rendered, RenderError>> {
    let shown = dir.display().to_string();
    match kind_of(dir)? {
        "kustomize" if settings.kustomize => {
            let result = if on_path("kustomize") {
                run("kustomize", &["build".into(), shown.clone()]).map(|t| (t, "kustomize build"))
            } else if on_path("kubectl") {
                run("kubectl", &["kustomize".into(), shown.clone()])
                    .map(|t| (t, "kubectl kustomize"))
            } else {
                Err(RenderError::NoKustomize(shown.clone()))
            };
            Some(result.map(|(text, tool)| Rendered {
                source: crate::source::Source::Rendered {
                    dir: dir.to_path_buf(),
                    tool,
                },
                text,
                origin: dir.join("kustomization.yaml").display().to_string(),
            }))
        }
        "helm" if settings.helm => {
            if !on_path("helm") {
                return Some(Err(RenderError::NoHelm(shown)));
            }
            let release = dir
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("release")
                .to_owned();
            let mut args = vec!["template".to_owned(), release, shown.clone()];
            for values in &settings.helm_values {
                args.extend(["--values".to_owned(), values.display().to_string()]);
            }
            for set in &settings.helm_set {
                args.extend(["--set".to_owned(), set.clone()]);
            }
            Some(run("helm", &args).map(|text| Rendered {
                source: crate::source::Source::Rendered {
                    dir: dir.to_path_buf(),
                    tool: "helm template",
                },
                text,
                origin: dir.join("Chart.yaml").display().to_string(),
            }))
        }
        _ => None,
    }
}
