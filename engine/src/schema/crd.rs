//! Schema validation of custom resources against the CustomResourceDefinitions in the same
//! input: each served version's `openAPIV3Schema` is converted to a JSON Schema, compiled once
//! per run, and custom resources of that group, version and kind are validated against it.
//!
//! The conversion follows the API server's structural-schema rules: `nullable`,
//! `x-kubernetes-int-or-string`, `x-kubernetes-preserve-unknown-fields` and
//! `x-kubernetes-embedded-resource` are honoured, `metadata` is free-form at the root (the API
//! server validates it as ObjectMeta), and `status` may appear in dumps. In strict mode (what
//! `kubectl apply` does by default, field validation `Strict`) unknown fields are errors.

use crate::model::manifest::{json_type, preview, Manifest};
use crate::schema::crd_rules::RuleNode;
use crate::schema::list_type::ListTypes;
use crate::vocab::Violation;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The CustomResourceDefinitions among the objects of one evaluation, compiled when a rule first
/// asks (most inputs hold none, and runs without KG004/KG006 never ask). The checker builds one
/// per evaluation and hands it to rules in their context.
pub struct InputCrds<'a> {
    objects: &'a [Manifest],
    strict: bool,
    compiled: OnceLock<CrdSchemas>,
}

impl<'a> InputCrds<'a> {
    pub(crate) fn new(objects: &'a [Manifest], strict: bool) -> Self {
        Self {
            objects,
            strict,
            compiled: OnceLock::new(),
        }
    }

    /// The compiled schemas.
    pub fn get(&self) -> &CrdSchemas {
        self.compiled
            .get_or_init(|| CrdSchemas::from_manifests(self.objects, self.strict))
    }
}

impl std::fmt::Debug for InputCrds<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputCrds")
            .field("objects", &self.objects.len())
            .field("compiled", &self.compiled.get().is_some())
            .finish()
    }
}

/// Compiled schemas of the CustomResourceDefinitions of one run.
#[derive(Default)]
pub struct CrdSchemas {
    /// `(group, kind)` → the CRD's name and its versions.
    kinds: HashMap<(String, String), Crd>,
    /// CRD name → problems with its schemas, reported on the CRD itself.
    problems: HashMap<String, Vec<Violation>>,
}

impl std::fmt::Debug for CrdSchemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrdSchemas")
            .field("kinds", &self.kinds.keys().collect::<Vec<_>>())
            .field("problems", &self.problems)
            .finish()
    }
}

struct Crd {
    name: String,
    /// `spec.names.plural`: the resource ValidatingAdmissionPolicies match.
    plural: Option<String>,
    versions: Vec<Version>,
}

struct Version {
    name: String,
    served: bool,
    /// None: no schema given, or one that does not compile (reported on the CRD).
    validator: Option<jsonschema::Validator>,
    /// The schema's `x-kubernetes-validations` rules, when it has any.
    rules: Option<RuleNode>,
    /// The schema's `set` and `map` lists, when it has any.
    list_types: Option<ListTypes>,
    /// The `openAPIV3Schema`, kept when it declares `default`s: the API server applies them
    /// before it validates, and both the schema and the rules judge the defaulted object.
    defaults: Option<Value>,
}

impl CrdSchemas {
    /// Collects and compiles the schemas of every `apiextensions.k8s.io/v1` CRD in `objects`.
    pub fn from_manifests(objects: &[Manifest], strict: bool) -> Self {
        let mut set = CrdSchemas::default();
        for m in objects {
            if m.object.api_version == "apiextensions.k8s.io/v1"
                && m.object.kind == "CustomResourceDefinition"
            {
                set.add(&m.value, strict);
            }
        }
        set
    }

    fn add(&mut self, crd: &Value, strict: bool) {
        let text = |pointer: &str| crd.pointer(pointer).and_then(Value::as_str).unwrap_or("");
        let (name, group, kind) = (
            text("/metadata/name"),
            text("/spec/group"),
            text("/spec/names/kind"),
        );
        if group.is_empty() || kind.is_empty() {
            return;
        }
        let mut versions = Vec::new();
        let mut problems = Vec::new();
        for (i, v) in crd
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some(version) = v.get("name").and_then(Value::as_str) else {
                continue;
            };
            let served = v.get("served").and_then(Value::as_bool).unwrap_or(true);
            let rules = v.pointer("/schema/openAPIV3Schema").and_then(|schema| {
                RuleNode::build(
                    schema,
                    &format!("/spec/versions/{i}/schema/openAPIV3Schema"),
                    &mut problems,
                )
            });
            let list_types = v.pointer("/schema/openAPIV3Schema").and_then(|schema| {
                ListTypes::build(
                    schema,
                    &format!("/spec/versions/{i}/schema/openAPIV3Schema"),
                    &mut problems,
                )
            });
            let defaults = v
                .pointer("/schema/openAPIV3Schema")
                .filter(|schema| declares_defaults(schema))
                .cloned();
            let validator = match v.pointer("/schema/openAPIV3Schema") {
                Some(schema) => {
                    let converted = convert(schema, strict, true);
                    match jsonschema::options()
                        .with_draft(jsonschema::Draft::Draft4)
                        .should_validate_formats(false)
                        .build(&converted)
                    {
                        Ok(compiled) => Some(compiled),
                        Err(e) => {
                            problems.push(Violation {
                                pointer: format!("/spec/versions/{i}/schema/openAPIV3Schema"),
                                message: format!(
                                    "the schema of version {version} is not a valid schema: {e}"
                                ),
                            });
                            None
                        }
                    }
                }
                None => None,
            };
            versions.push(Version {
                name: version.to_owned(),
                served,
                validator,
                rules,
                list_types,
                defaults,
            });
        }
        if !problems.is_empty() {
            self.problems.insert(name.to_owned(), problems);
        }
        self.kinds.insert(
            (group.to_owned(), kind.to_owned()),
            Crd {
                name: name.to_owned(),
                plural: crd
                    .pointer("/spec/names/plural")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                versions,
            },
        );
    }

    /// The resource (plural) a CRD here names for `kind` in API group `group`.
    pub fn plural(&self, group: &str, kind: &str) -> Option<&str> {
        self.kinds
            .get(&(group.to_owned(), kind.to_owned()))
            .and_then(|crd| crd.plural.as_deref())
    }

    /// Whether a CRD here defines `kind` in API group `group`.
    pub fn defines(&self, group: &str, kind: &str) -> bool {
        self.kinds
            .contains_key(&(group.to_owned(), kind.to_owned()))
    }

    /// Schema findings for one object: problems with a CRD's own schemas, or a custom
    /// resource's violations of its CRD. Returns whether this set judged the object (it is a
    /// CRD, or a CRD here defines its kind); objects of other kinds get no findings.
    pub fn validate(
        &self,
        manifest: &Manifest,
        old_object: Option<&Value>,
        out: &mut Vec<Violation>,
    ) -> bool {
        let object = &manifest.object;
        if object.api_version == "apiextensions.k8s.io/v1"
            && object.kind == "CustomResourceDefinition"
        {
            if let Some(problems) = object.name.as_deref().and_then(|n| self.problems.get(n)) {
                out.extend(problems.iter().cloned());
            }
            return true;
        }
        if self.kinds.is_empty() {
            return false;
        }
        let Some((group, version)) = object.api_version.rsplit_once('/') else {
            return false;
        };
        let Some(crd) = self.kinds.get(&(group.to_owned(), object.kind.clone())) else {
            return false;
        };
        let served: Vec<&str> = crd
            .versions
            .iter()
            .filter(|v| v.served)
            .map(|v| v.name.as_str())
            .collect();
        let Some(found) = crd
            .versions
            .iter()
            .find(|v| v.name == version)
            .filter(|v| v.served)
        else {
            out.push(Violation {
                pointer: "/apiVersion".into(),
                message: format!(
                    "CustomResourceDefinition {} does not serve version {version} of {} (served: {})",
                    crd.name,
                    object.kind,
                    if served.is_empty() { "none".to_owned() } else { served.join(", ") }
                ),
            });
            return true;
        };
        let defaulted = found.defaults.as_ref().map(|schema| {
            let mut value = manifest.value.clone();
            apply_defaults(schema, &mut value);
            (
                value,
                old_object.map(|old| {
                    let mut old = old.clone();
                    apply_defaults(schema, &mut old);
                    old
                }),
            )
        });
        let (value, old_object) = match &defaulted {
            Some((value, old)) => (value, old.as_ref()),
            None => (&manifest.value, old_object),
        };
        // Wrong types block the validation rules, as in the API server (a rule would read
        // fields of the wrong type).
        let mut blocked = false;
        if let Some(validator) = &found.validator {
            if !validator.is_valid(value) {
                for error in validator.iter_errors(value) {
                    let pointer = error.instance_path().as_str().to_owned();
                    blocked |= matches!(
                        error.kind(),
                        jsonschema::error::ValidationErrorKind::Type { .. }
                    );
                    describe(&error, &pointer, out);
                }
            }
        }
        // The list-type invariants, on the defaulted object; they do not block the rules.
        if let Some(list_types) = &found.list_types {
            list_types.validate(value, "", out);
        }
        if let Some(rules) = &found.rules {
            if blocked {
                out.push(Violation {
                    pointer: String::new(),
                    message: "some validation rules were not checked because the object was \
                              invalid; correct the existing errors to complete validation"
                        .to_owned(),
                });
            } else {
                rules.validate(value, old_object, "", out);
            }
        }
        true
    }
}

/// Whether a schema declares a `default` anywhere.
fn declares_defaults(schema: &Value) -> bool {
    let Value::Object(map) = schema else {
        return false;
    };
    map.contains_key("default")
        || map
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|props| props.values().any(declares_defaults))
        || ["items", "additionalProperties"]
            .iter()
            .filter_map(|k| map.get(*k))
            .any(declares_defaults)
}

/// Sets the schema's `default`s in `value` as the API server does when it reads a custom
/// resource: an absent field (or a null one its schema does not make nullable) gets its
/// property's default, then defaulting goes on inside every field, item and map value, the
/// defaults just set included.
fn apply_defaults(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            if let Some(props) = props {
                for (name, prop) in props {
                    let Some(default) = prop.get("default") else {
                        continue;
                    };
                    let nullable = prop.get("nullable").and_then(Value::as_bool) == Some(true);
                    match map.get(name) {
                        None => {
                            map.insert(name.clone(), default.clone());
                        }
                        Some(Value::Null) if !nullable => {
                            map.insert(name.clone(), default.clone());
                        }
                        Some(_) => {}
                    }
                }
            }
            let extra = schema.get("additionalProperties").filter(|a| a.is_object());
            for (name, field) in map.iter_mut() {
                match props.and_then(|p| p.get(name)) {
                    Some(prop) => apply_defaults(prop, field),
                    None => {
                        if let Some(extra) = extra {
                            apply_defaults(extra, field);
                        }
                    }
                }
            }
        }
        Value::Array(items) => {
            let Some(item_schema) = schema.get("items").filter(|i| i.is_object()) else {
                return;
            };
            let default = item_schema.get("default");
            let nullable = item_schema.get("nullable").and_then(Value::as_bool) == Some(true);
            for item in items {
                if let (Value::Null, Some(d), false) = (&*item, default, nullable) {
                    *item = d.clone();
                }
                apply_defaults(item_schema, item);
            }
        }
        _ => {}
    }
}

/// One violation per problem, worded like a person would: field, what was expected, what was
/// found.
pub(crate) fn describe(
    error: &jsonschema::ValidationError<'_>,
    pointer: &str,
    out: &mut Vec<Violation>,
) {
    use jsonschema::error::ValidationErrorKind as K;
    let field = |p: &str| {
        let f = crate::model::position::dotted(p);
        if f.is_empty() {
            "object".to_owned()
        } else {
            f
        }
    };
    let found = |v: &Value| match preview(v) {
        p if p.is_empty() => json_type(v).to_owned(),
        p => format!("{} {p}", json_type(v)),
    };
    let message = match error.kind() {
        K::Type { kind } => format!(
            "{}: expected {}, got {}",
            field(pointer),
            type_names(kind),
            found(error.instance())
        ),
        K::AdditionalProperties { unexpected } => {
            for name in unexpected {
                let child = format!("{pointer}/{}", crate::model::position::escape_token(name));
                out.push(Violation {
                    message: format!("{}: unknown field {name:?}", field(&child)),
                    pointer: child,
                });
            }
            return;
        }
        K::Required { property } => {
            format!("{}: missing required field {}", field(pointer), property)
        }
        K::Enum { options } => format!(
            "{}: expected one of {}, got {}",
            field(pointer),
            options,
            preview(error.instance())
        ),
        _ => format!("{}: {error}", field(pointer)),
    };
    out.push(Violation {
        pointer: pointer.to_owned(),
        message,
    });
}

fn type_names(kind: &jsonschema::error::TypeKind) -> String {
    match kind {
        jsonschema::error::TypeKind::Single(t) => t.to_string(),
        // Kubernetes schemas make most fields nullable (null means unset); naming null in
        // every message would only distract.
        jsonschema::error::TypeKind::Multiple(set) => {
            let names: Vec<String> = set
                .iter()
                .filter(|t| *t != jsonschema::JsonType::Null)
                .map(|t| t.to_string())
                .collect();
            if names.is_empty() {
                "null".to_owned()
            } else {
                names.join(" or ")
            }
        }
    }
}

/// An `openAPIV3Schema` node as a draft-4 JSON Schema. `strict` closes objects that list
/// their properties; `root` adds what every object may carry.
fn convert(node: &Value, strict: bool, root: bool) -> Value {
    let Value::Object(source) = node else {
        return node.clone();
    };
    let mut out = Map::new();
    let flag = |key: &str| source.get(key).and_then(Value::as_bool).unwrap_or(false);
    let preserve = flag("x-kubernetes-preserve-unknown-fields");
    let int_or_string = flag("x-kubernetes-int-or-string");
    let embedded = flag("x-kubernetes-embedded-resource");
    let nullable = flag("nullable");
    for (key, value) in source {
        match key.as_str() {
            // Validation is about values, not these annotations or OpenAPI-only keywords.
            k if k.starts_with("x-kubernetes-") => {}
            "nullable" | "format" | "example" | "externalDocs" | "default" | "title" => {}
            "properties" => {
                let props = value
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), convert(v, strict, false)))
                            .collect::<Map<_, _>>()
                    })
                    .unwrap_or_default();
                out.insert(key.clone(), Value::Object(props));
            }
            "items" | "additionalProperties" | "not" if value.is_object() => {
                out.insert(key.clone(), convert(value, strict, false));
            }
            // Branches of allOf/anyOf/oneOf constrain values; closing them would reject the
            // fields the other branches or the parent define.
            "allOf" | "anyOf" | "oneOf" => {
                let branches = value
                    .as_array()
                    .map(|a| a.iter().map(|b| convert(b, false, false)).collect())
                    .unwrap_or_default();
                out.insert(key.clone(), Value::Array(branches));
            }
            "type" if int_or_string => {}
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    if int_or_string {
        out.insert("type".into(), json!(["integer", "string"]));
    }
    if root || embedded {
        let props = out
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(props) = props {
            props
                .entry("apiVersion")
                .or_insert_with(|| json!({"type": "string"}));
            props
                .entry("kind")
                .or_insert_with(|| json!({"type": "string"}));
            props.insert("metadata".into(), json!({"type": "object"}));
            if root {
                props.entry("status").or_insert_with(|| json!({}));
            }
        }
    }
    if nullable {
        match out.get("type").cloned() {
            Some(Value::String(t)) => {
                out.insert("type".into(), json!([t, "null"]));
            }
            Some(Value::Array(mut ts)) => {
                ts.push(json!("null"));
                out.insert("type".into(), Value::Array(ts));
            }
            _ => {}
        }
    }
    let is_object = out.get("type").and_then(Value::as_str) == Some("object")
        || out
            .get("type")
            .and_then(Value::as_array)
            .is_some_and(|ts| ts.iter().any(|t| t == "object"));
    if strict
        && is_object
        && !preserve
        && out.contains_key("properties")
        && !out.contains_key("additionalProperties")
    {
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    Value::Object(out)
}
