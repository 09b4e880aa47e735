//! Source mapping of rendered output. Helm: a rendered stream's `# Source:` comments split into
//! templates (`Loader::load_text`). Kustomize: a kustomization directory loaded with rendering
//! on (`Loader::load` of the root, as `kubegate check DIR` does), where a stub `kustomize` on
//! PATH prints the fuzzer's "rendered output", so its `config.kubernetes.io/origin` annotations
//! are mapped back to the kustomization, resource and patch files the fuzzer wrote too
//! (`model/origin.rs`), and every field of every object is placed.
//! Input: `rendered` `\n#==\n` `kustomization.yaml` `\n#==\n` `deployment.yaml` `\n#==\n`
//! `patch.yaml`. The property: no panic, and every finding could be placed.
#![no_main]

use kubegate_engine::{Input, Limits, Loader, RenderSettings};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::OnceLock;

const MAX_POINTERS: usize = 2_000;

#[derive(Debug)]
struct Stage {
    /// The kustomization directory (`$TMPDIR/app`: origin paths read `../app/...` from the
    /// engine's wrapper directory next to it).
    root: PathBuf,
    /// What the stub `kustomize` prints.
    rendered: PathBuf,
}

fn stage() -> &'static Stage {
    static STAGE: OnceLock<Stage> = OnceLock::new();
    STAGE.get_or_init(|| {
        let base =
            std::env::temp_dir().join(format!("kubegate-fuzz-srcmap-{}", std::process::id()));
        let (bin, tmp) = (base.join("bin"), base.join("tmp"));
        let root = tmp.join("app");
        let rendered = base.join("rendered.yaml");
        let stub = bin.join("kustomize");
        let made = std::fs::create_dir_all(&bin)
            .and_then(|()| std::fs::create_dir_all(&root))
            .and_then(|()| {
                std::fs::write(
                    &stub,
                    format!("#!/bin/sh\nexec cat '{}'\n", rendered.display()),
                )
            })
            .and_then(|()| {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755))
            });
        if let Err(e) = made {
            panic!("cannot prepare {}: {e}", base.display());
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![bin];
        paths.extend(std::env::split_paths(&path));
        match std::env::join_paths(paths) {
            Ok(joined) => std::env::set_var("PATH", joined),
            Err(e) => panic!("PATH: {e}"),
        }
        std::env::set_var("TMPDIR", &tmp);
        Stage { root, rendered }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let stage = stage();
    let mut parts = text.splitn(4, "\n#==\n");
    let rendered = parts.next().unwrap_or_default();

    // Helm: `# Source:` comments name each document's template.
    let loader = Loader::new(Limits::default());
    let (manifests, _) = loader.load_text("helm-output.yaml", rendered.to_owned());
    for m in &manifests {
        place_all(m);
    }

    // Kustomize: the root's files, then the rendered output mapped back to them.
    let files = [
        (stage.rendered.clone(), Some(rendered)),
        (stage.root.join("kustomization.yaml"), parts.next()),
        (stage.root.join("deployment.yaml"), parts.next()),
        (stage.root.join("patch.yaml"), parts.next()),
    ];
    for (path, content) in &files {
        if let Err(e) = std::fs::write(path, content.unwrap_or_default()) {
            panic!("cannot write {}: {e}", path.display());
        }
    }
    let settings = RenderSettings {
        kustomize: true,
        helm: false,
        ..RenderSettings::default()
    };
    let loaded = loader
        .with_render(settings)
        .load(&[Input::Path(stage.root.clone())]);
    for e in &loaded.errors {
        let _ = e.to_string();
    }
    for m in &loaded.manifests {
        place_all(m);
    }
});

/// Places every field of `m` (at most [`MAX_POINTERS`]) and a few that do not exist.
fn place_all(m: &kubegate_engine::Manifest) {
    let mut pointers = Vec::new();
    collect(&m.value, String::new(), &mut pointers);
    pointers.push("/spec/template/spec/containers/0/securityContext/privileged".to_owned());
    pointers.push("/metadata/labels/app.kubernetes.io~1name".to_owned());
    for pointer in &pointers {
        let place = m.place(pointer);
        let _ = (place.position, place.rendered_at, place.file.name.len());
    }
    let _ = m.input_files();
    let _ = m.origin_name();
}

fn collect(value: &Value, pointer: String, out: &mut Vec<String>) {
    if out.len() >= MAX_POINTERS {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let token = key.replace('~', "~0").replace('/', "~1");
                collect(child, format!("{pointer}/{token}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect(child, format!("{pointer}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(pointer);
}
