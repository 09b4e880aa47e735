//! The YAML/JSON loader with positions: any bytes, read as a file is read, then every
//! position a finding could ask for looked up. The property: no panic, no limit crossed
//! without its error, and every pointer the position index lists found again at its position.
#![no_main]

use kubegate_engine::{parse_stream, Limits, Loader};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Pointers looked up per manifest: an alias can expand a small input to the node limit.
const MAX_POINTERS: usize = 2_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = Limits::default();

    // The reader on its own: its index must agree with itself.
    let stream = parse_stream(text, &limits);
    for doc in &stream.documents {
        for (pointer, position) in doc.positions.iter().take(MAX_POINTERS) {
            assert_eq!(
                doc.positions.get(&pointer),
                Some(position),
                "index lists {pointer:?} but does not find it"
            );
        }
    }

    // The loader as `kubegate check` runs it: documents, lists, Helm `# Source:` comments.
    let loader = Loader::new(limits);
    let (manifests, errors) = loader.load_text("fuzz.yaml", text.to_owned());
    for error in &errors {
        let _ = error.to_string();
    }
    for manifest in &manifests {
        let mut pointers = Vec::new();
        collect(&manifest.value, String::new(), &mut pointers);
        for pointer in &pointers {
            let _ = manifest.locate(pointer);
            let _ = manifest.place(pointer);
            let _ = kubegate_engine::dotted(pointer);
        }
        // Paths that do not exist resolve to an ancestor, never panic.
        let _ = manifest.locate("/spec/template/spec/containers/0/image");
        let _ = manifest.locate("/metadata/annotations/a~1b~0c");
        let _ = manifest.origin_name();
        let _ = manifest.input_files();
    }
});

/// Every pointer of `value` (children before their parent), at most [`MAX_POINTERS`].
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
