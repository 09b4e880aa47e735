//! Gatekeeper ConstraintTemplates and Constraints, evaluated as Gatekeeper's audit and `gator`
//! evaluate them: `input.review` built from the object, `input.parameters` from the constraint,
//! `violation[{"msg": ..., "details": ...}]` results, `spec.match` deciding which objects a
//! constraint applies to, and `data.inventory` built from the other objects of the run.

use crate::model::inventory::Inventory;
use crate::model::manifest::{Manifest, ObjectRef};
use crate::model::pattern::glob;
use crate::model::position::Position;
use crate::model::selector::LabelSelector;
use crate::policy::cel;
use crate::vocab::Enforcement;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const TEMPLATE_GROUP: &str = "templates.gatekeeper.sh/";
const CONSTRAINT_GROUP: &str = "constraints.gatekeeper.sh/";
const ADMISSION_TARGET: &str = "admission.k8s.gatekeeper.sh";
const EXPANSION_GROUP: &str = "expansion.gatekeeper.sh/";

/// What a Gatekeeper document in a policy directory is.
pub(crate) fn is_gatekeeper(doc: &Value) -> bool {
    doc.get("apiVersion")
        .and_then(Value::as_str)
        .is_some_and(|v| {
            v.starts_with(TEMPLATE_GROUP)
                || v.starts_with(CONSTRAINT_GROUP)
                || v.starts_with(EXPANSION_GROUP)
        })
}

/// Whether a Gatekeeper document is an ExpansionTemplate.
pub(crate) fn is_expansion(doc: &Value) -> bool {
    doc.get("apiVersion")
        .and_then(Value::as_str)
        .is_some_and(|v| v.starts_with(EXPANSION_GROUP))
        && doc.get("kind").and_then(Value::as_str) == Some("ExpansionTemplate")
}

/// An ExpansionTemplate (`expansion.gatekeeper.sh`): workloads of the `applyTo` kinds are
/// also judged as the resource they generate (a Deployment as its Pod), as Gatekeeper's
/// webhook, audit and gator do.
#[derive(Debug, Clone)]
pub(crate) struct Expansion {
    pub name: String,
    apply_to: Vec<ApplyTo>,
    /// JSON pointer of the template inside the workload (`spec.template` → `/spec/template`).
    pub source: String,
    /// apiVersion and kind of the generated resource.
    generated_api_version: String,
    pub generated_kind: String,
    /// Overrides the constraint's action for what the generated resource violates.
    pub action: Option<Enforcement>,
}

#[derive(Debug, Clone)]
struct ApplyTo {
    groups: Vec<String>,
    kinds: Vec<String>,
    versions: Vec<String>,
}

/// Compiles an ExpansionTemplate document.
pub(crate) fn expansion(
    doc: &crate::load::yaml::ParsedDocument,
) -> Result<Expansion, GatekeeperError> {
    let v = &doc.value;
    let at = |pointer: &str| {
        doc.positions
            .resolve(pointer)
            .map(|(p, _)| p)
            .or(Some(doc.start))
    };
    let name = v
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let bad =
        |pointer: &str, what: &str| err(at(pointer), format!("ExpansionTemplate {name:?}: {what}"));
    let list = |item: &Value, key: &str| -> Result<Vec<String>, GatekeeperError> {
        match item.get(key) {
            Some(Value::Array(a)) if !a.is_empty() => a
                .iter()
                .map(|x| {
                    x.as_str().map(str::to_owned).ok_or_else(|| {
                        bad("/spec/applyTo", &format!("applyTo {key} must be strings"))
                    })
                })
                .collect(),
            _ => Err(bad(
                "/spec/applyTo",
                &format!("every applyTo entry needs a non-empty `{key}` list"),
            )),
        }
    };
    let entries = v
        .pointer("/spec/applyTo")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            bad(
                "/spec",
                "spec.applyTo must list the workload kinds to expand",
            )
        })?;
    let mut apply_to = Vec::new();
    for item in entries {
        apply_to.push(ApplyTo {
            groups: list(item, "groups")?,
            kinds: list(item, "kinds")?,
            versions: list(item, "versions")?,
        });
    }
    let source = v
        .pointer("/spec/templateSource")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            bad(
                "/spec",
                "spec.templateSource must name the field holding the template (spec.template)",
            )
        })?;
    let source: String = source
        .split('.')
        .map(|t| format!("/{}", crate::model::position::escape_token(t)))
        .collect();
    let gvk = v
        .pointer("/spec/generatedGVK")
        .ok_or_else(|| bad("/spec", "spec.generatedGVK must name the generated kind"))?;
    let field = |key: &str| gvk.get(key).and_then(Value::as_str).unwrap_or_default();
    if field("kind").is_empty() || field("version").is_empty() {
        return Err(bad(
            "/spec/generatedGVK",
            "generatedGVK needs kind and version",
        ));
    }
    let generated_api_version = if field("group").is_empty() {
        field("version").to_owned()
    } else {
        format!("{}/{}", field("group"), field("version"))
    };
    let action = match v.pointer("/spec/enforcementAction").and_then(Value::as_str) {
        None | Some("") => None,
        Some("deny") => Some(Enforcement::Deny),
        Some("warn") => Some(Enforcement::Warn),
        Some("dryrun") => Some(Enforcement::DryRun),
        Some(other) => {
            return Err(bad(
                "/spec/enforcementAction",
                &format!("unknown enforcementAction {other:?} (deny, warn or dryrun)"),
            ))
        }
    };
    Ok(Expansion {
        name,
        apply_to,
        source,
        generated_api_version,
        generated_kind: field("kind").to_owned(),
        action,
    })
}

impl Expansion {
    /// Whether this template expands objects of this apiVersion and kind (`*` matches any).
    fn applies(&self, api_version: &str, kind: &str) -> bool {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let any = |list: &[String], value: &str| list.iter().any(|x| x == "*" || x == value);
        self.apply_to
            .iter()
            .any(|a| any(&a.groups, group) && any(&a.versions, version) && any(&a.kinds, kind))
    }

    /// The resource a workload generates, as Gatekeeper mocks it: the template at
    /// `templateSource` with the generated apiVersion and kind and the workload's namespace.
    /// `None` when this template does not apply or the workload has no such field.
    pub(crate) fn expand(&self, workload: &Manifest) -> Option<Manifest> {
        if !self.applies(&workload.object.api_version, &workload.object.kind) {
            return None;
        }
        let Value::Object(template) = workload.value.pointer(&self.source)? else {
            return None;
        };
        let mut value = template.clone();
        value.insert("apiVersion".into(), json!(self.generated_api_version));
        value.insert("kind".into(), json!(self.generated_kind));
        let metadata = value.entry("metadata").or_insert_with(|| json!({}));
        if let (Some(meta), Some(ns)) = (metadata.as_object_mut(), &workload.object.namespace) {
            meta.insert("namespace".into(), json!(ns));
        }
        let name = value
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| workload.object.name.clone());
        // The workload's source and positions, shared; its value is not copied again.
        Some(Manifest {
            object: ObjectRef {
                api_version: self.generated_api_version.clone(),
                kind: self.generated_kind.clone(),
                namespace: workload.object.namespace.clone(),
                name,
            },
            value: Value::Object(value),
            source: Arc::clone(&workload.source),
            document_index: workload.document_index,
            item_index: workload.item_index,
            template: workload.template.clone(),
            positions: Arc::clone(&workload.positions),
            base_pointer: workload.base_pointer.clone(),
            origins: workload.origins.clone(),
            context: workload.context,
            parked: None,
        })
    }
}

/// A compiled ConstraintTemplate.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    /// The constraint kind it defines (`K8sRequiredLabels`).
    pub kind: String,
    pub name: String,
    /// `data.<package>.violation`.
    pub query: String,
    /// The template's policy and libs, compiled in an engine of its own: templates may share
    /// package names, as Gatekeeper keeps them apart too.
    pub engine: regorus::Engine,
    pub schema: Option<Value>,
    /// Whether the Rego reads `data.inventory` (then each run's objects are added as data).
    pub uses_inventory: bool,
    /// The K8sNativeValidation (CEL) code that judges instead of the Rego, when chosen.
    pub cel: Option<Arc<NativeCode>>,
}

/// A constraint: a template instantiated with parameters and a `match`.
#[derive(Debug, Clone)]
pub(crate) struct Constraint {
    pub kind: String,
    pub name: String,
    pub template: usize,
    pub matcher: Match,
    pub parameters: Value,
    /// The whole constraint: K8sNativeValidation variables read it as `params`.
    pub document: Value,
    pub action: Enforcement,
    pub file: PathBuf,
}

/// A problem with a Gatekeeper document: the message, and where in the file it is.
#[derive(Debug, Clone)]
pub(crate) struct GatekeeperError {
    pub position: Option<Position>,
    pub message: String,
}

fn err(position: Option<Position>, message: impl Into<String>) -> GatekeeperError {
    GatekeeperError {
        position,
        message: message.into(),
    }
}

/// Compiles a ConstraintTemplate document.
pub(crate) fn template(
    doc: &crate::load::yaml::ParsedDocument,
    file: &Path,
    k8s_native: bool,
) -> Result<Template, GatekeeperError> {
    let v = &doc.value;
    let at = |pointer: &str| doc.positions.resolve(pointer).map(|(p, _)| p);
    if v.get("kind").and_then(Value::as_str) != Some("ConstraintTemplate") {
        return Err(err(
            at("/kind"),
            "templates.gatekeeper.sh documents must be ConstraintTemplates",
        ));
    }
    let name = v
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let kind = v
        .pointer("/spec/crd/spec/names/kind")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            err(
                at("/spec/crd/spec/names/kind"),
                format!("template {name:?} has no spec.crd.spec.names.kind"),
            )
        })?
        .to_owned();
    let schema = v
        .pointer("/spec/crd/spec/validation/openAPIV3Schema")
        .cloned();
    let targets = v
        .pointer("/spec/targets")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let Some((t, target)) = targets
        .iter()
        .enumerate()
        .find(|(_, t)| t.get("target").and_then(Value::as_str) == Some(ADMISSION_TARGET))
    else {
        return Err(err(
            at("/spec/targets"),
            format!("template {name:?} has no {ADMISSION_TARGET} target"),
        ));
    };
    // Rego comes from `rego` + `libs`, or from a `code` entry with engine Rego; CEL from a
    // `code` entry with engine K8sNativeValidation.
    let entries = target
        .get("code")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let code = entries
        .iter()
        .find(|c| c.get("engine").and_then(Value::as_str) == Some("Rego"));
    let native = entries
        .iter()
        .enumerate()
        .find(|(_, c)| c.get("engine").and_then(Value::as_str) == Some(NATIVE_ENGINE));
    let has_rego = target.get("rego").and_then(Value::as_str).is_some() || code.is_some();
    // Gatekeeper's rule (with --enable-k8s-native-validation, gator's default): the CEL code
    // block where a template has one, else Rego.
    if let Some((i, entry)) = native.filter(|_| k8s_native || !has_rego) {
        let base = format!("/spec/targets/{t}/code/{i}/source");
        let source = entry.get("source").cloned().unwrap_or(Value::Null);
        let cel = native_code(&source, &base, &at, &name)?;
        return Ok(Template {
            kind,
            name,
            query: String::new(),
            engine: regorus::Engine::new(),
            schema,
            uses_inventory: false,
            cel: Some(Arc::new(cel)),
        });
    }
    let (rego, libs, v1, pointer) = match (target.get("rego").and_then(Value::as_str), code) {
        (Some(rego), _) => (
            rego.to_owned(),
            target.get("libs").cloned(),
            false,
            format!("/spec/targets/{t}/rego"),
        ),
        (None, Some(code)) => {
            let source = code.get("source").cloned().unwrap_or(Value::Null);
            let rego = source
                .get("rego")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let v1 = source.get("version").and_then(Value::as_str) == Some("v1");
            (
                rego,
                source.get("libs").cloned(),
                v1,
                format!("/spec/targets/{t}/code"),
            )
        }
        (None, None) => {
            return Err(err(
                at(&format!("/spec/targets/{t}")),
                format!("template {name:?} has no Rego (rego or code with engine Rego)"),
            ))
        }
    };
    let mut engine = regorus::Engine::new();
    engine.set_strict_builtin_errors(false);
    engine.set_rego_v0(!v1);
    let label = format!("{}#{name}", file.display());
    if let Err(e) = crate::policy::rego::check_nesting(&rego) {
        return Err(err(
            at(&pointer),
            format!(
                "template {name:?}: line {} of its Rego: {e}",
                e.position.line
            ),
        ));
    }
    let rego = crate::policy::rego::compatible(&label, rego);
    let package = engine
        .add_policy(label.clone(), rego.clone())
        .map_err(|e| {
            err(
                at(&pointer),
                format!("template {name:?}: {}", one_line(&e.to_string())),
            )
        })?;
    let mut uses_inventory = rego.contains("data.inventory");
    for (i, lib) in libs
        .iter()
        .flat_map(|l| l.as_array().cloned().unwrap_or_default())
        .enumerate()
    {
        let Some(lib) = lib.as_str() else { continue };
        uses_inventory |= lib.contains("data.inventory");
        let lib_label = format!("{label}/lib{i}");
        if let Err(e) = crate::policy::rego::check_nesting(lib) {
            return Err(err(
                at(&pointer),
                format!(
                    "template {name:?} lib {i}: line {} of its Rego: {e}",
                    e.position.line
                ),
            ));
        }
        let lib = crate::policy::rego::compatible(&lib_label, lib.to_owned());
        engine.add_policy(lib_label, lib).map_err(|e| {
            err(
                at(&pointer),
                format!("template {name:?} lib {i}: {}", one_line(&e.to_string())),
            )
        })?;
    }
    let package = package.strip_prefix("data.").unwrap_or(&package).to_owned();
    Ok(Template {
        kind,
        name,
        query: format!("data.{package}.violation"),
        engine,
        schema,
        uses_inventory,
        cel: None,
    })
}

/// The engine name of Gatekeeper's CEL code blocks.
pub(crate) const NATIVE_ENGINE: &str = "K8sNativeValidation";

/// What K8sNativeValidation expressions may read: the request's variables (`authorizer` is not
/// declared: Gatekeeper passes none), and `variables.anyObject` (the object, or the old one on
/// DELETE) and `variables.params` (the constraint's `spec.parameters`), which Gatekeeper adds.
/// Only the template's own `variables` may read `params` (the whole constraint): Gatekeeper
/// compiles them with params declared, and validations without.
const NATIVE_VARIABLE_NAMES: &[&str] = &[
    "object",
    "oldObject",
    "request",
    "params",
    "namespaceObject",
];
const NATIVE_NAMES: &[&str] = &["object", "oldObject", "request", "namespaceObject"];
const NATIVE_PROVIDED: &[&str] = &["anyObject", "params"];

/// A template's compiled K8sNativeValidation code block.
#[derive(Debug)]
pub(crate) struct NativeCode {
    pub variables: Vec<cel::Variable>,
    pub validations: Vec<NativeValidation>,
    /// `matchCondition` (Gatekeeper's key is singular): all must be true for the template to
    /// judge the object.
    pub match_conditions: Vec<(String, cel::Expression)>,
    /// `failurePolicy: Ignore`: an evaluation error is not a violation (kubegate reports it as
    /// an advisory "cannot be judged" finding, never silently).
    pub fail_open: bool,
}

/// What a K8sNativeValidation code block found on one object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NativeFinding {
    pub message: String,
    pub pointer: String,
    /// An evaluation error under `failurePolicy: Ignore`: advisory, not a violation.
    pub undecided: bool,
}

/// One of its `validations`.
#[derive(Debug)]
pub(crate) struct NativeValidation {
    pub expression: cel::Expression,
    pub message: Option<String>,
    pub message_expression: Option<cel::Expression>,
}

/// The review's values as K8sNativeValidation expressions see them, converted once per object:
/// `object`, `oldObject` (null when absent), `request` (the review), `namespaceObject` (null:
/// the input's Namespace objects are not given to Gatekeeper templates).
pub(crate) fn native_values(review: &Value) -> cel::Values<'_> {
    static NULL: Value = Value::Null;
    let object = review.get("object").unwrap_or(&NULL);
    let old = review.get("oldObject").unwrap_or(&NULL);
    cel::Values::new(&[
        ("object", object),
        ("oldObject", old),
        ("request", review),
        ("namespaceObject", &NULL),
    ])
}

/// Runs a K8sNativeValidation code block, as Gatekeeper's CEL driver does: when every
/// `matchCondition` holds, each validation that is false gives its message (the
/// `messageExpression`'s string when it gives a non-empty one, else `message`, else
/// `failed expression: <expression>`) and the field it reads. An evaluation error is a violation
/// whose message is the error (`expression '…' resulted in error: …`), or with
/// `failurePolicy: Ignore` an advisory finding.
pub(crate) fn judge_native(
    code: &NativeCode,
    values: &cel::Values<'_>,
    constraint: &Value,
    parameters: &Value,
) -> Vec<NativeFinding> {
    let object_val = values.get("object");
    let any = match object_val {
        Some(v) if !values.is_null("object") => v,
        _ => values
            .get("oldObject")
            .unwrap_or(object_val.unwrap_or(&cel::NULL)),
    };
    let constraint = cel::to_val(constraint);
    let params = cel::to_val(parameters);
    let provided = [("anyObject", any), ("params", params.as_ref())];
    let activation = cel::Activation::new(
        values,
        Some(("params", constraint.as_ref())),
        &provided,
        &code.variables,
    );
    let object_json = values.json("object").filter(|v| !v.is_null());
    let object_json = object_json.or_else(|| values.json("oldObject"));
    let error = |message: String, pointer: String| NativeFinding {
        message,
        pointer,
        undecided: code.fail_open,
    };
    let mut found = Vec::new();
    for (name, condition) in &code.match_conditions {
        match activation.eval_bool(condition) {
            Ok(true) => {}
            Ok(false) => return found,
            Err(e) => {
                found.push(error(
                    format!("matchCondition '{name}' resulted in error: {e}"),
                    String::new(),
                ));
                return found;
            }
        }
    }
    for v in &code.validations {
        let pointer = object_json
            .map(|o| v.expression.position_in(o))
            .unwrap_or_default();
        match activation.eval_bool(&v.expression) {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => {
                found.push(error(
                    format!(
                        "expression '{}' resulted in error: {e}",
                        v.expression.source.trim()
                    ),
                    pointer,
                ));
                continue;
            }
        }
        let message = cel::failure_message(
            &activation,
            v.message_expression.as_ref(),
            v.message.as_deref(),
            &v.expression,
            usize::MAX,
        );
        found.push(NativeFinding {
            message,
            pointer,
            undecided: false,
        });
    }
    found
}

/// Compiles a K8sNativeValidation `source` (at `base` in the template document).
fn native_code(
    source: &Value,
    base: &str,
    at: &dyn Fn(&str) -> Option<Position>,
    name: &str,
) -> Result<NativeCode, GatekeeperError> {
    let bad = |pointer: String, what: String, e: cel::CompileError| {
        err(at(&pointer), format!("template {name:?}: {what}: {e}"))
    };
    let mut declared: Vec<String> = Vec::new();
    let mut variables = Vec::new();
    for (i, v) in source
        .get("variables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let pointer = format!("{base}/variables/{i}");
        let var_name = v.get("name").and_then(Value::as_str).unwrap_or_default();
        if var_name.is_empty() {
            return Err(err(
                at(&pointer),
                format!("template {name:?}: variable {i} has no name"),
            ));
        }
        if NATIVE_PROVIDED.contains(&var_name) {
            return Err(err(
                at(&format!("{pointer}/name")),
                format!(
                    "template {name:?}: {var_name} an invalid variable name, {var_name:?} is a \
                     reserved keyword"
                ),
            ));
        }
        if declared.iter().any(|d| d == var_name) {
            return Err(err(
                at(&format!("{pointer}/name")),
                format!("template {name:?}: variable {var_name:?} is declared twice"),
            ));
        }
        let text = v
            .get("expression")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let scope = cel::Scope {
            names: NATIVE_VARIABLE_NAMES,
            variables: &declared,
            provided: NATIVE_PROVIDED,
        };
        let mut expression =
            cel::compile(text, &scope, &["variables", "anyObject"]).map_err(|e| {
                bad(
                    format!("{pointer}/expression"),
                    format!("variable {var_name:?}"),
                    e,
                )
            })?;
        expression.inherit_reads(&variables);
        declared.push(var_name.to_owned());
        variables.push(cel::Variable {
            name: var_name.to_owned(),
            expression,
        });
    }
    let scope = cel::Scope {
        names: NATIVE_NAMES,
        variables: &declared,
        provided: NATIVE_PROVIDED,
    };
    let mut validations = Vec::new();
    for (i, v) in source
        .get("validations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let pointer = format!("{base}/validations/{i}");
        let text = v
            .get("expression")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut expression =
            cel::compile(text, &scope, &["variables", "anyObject"]).map_err(|e| {
                bad(
                    format!("{pointer}/expression"),
                    format!("validation {i}"),
                    e,
                )
            })?;
        expression.inherit_reads(&variables);
        let message_expression = match v.get("messageExpression").and_then(Value::as_str) {
            Some(m) => Some(
                cel::compile(m, &scope, &["variables", "anyObject"]).map_err(|e| {
                    bad(
                        format!("{pointer}/messageExpression"),
                        format!("validation {i} messageExpression"),
                        e,
                    )
                })?,
            ),
            None => None,
        };
        validations.push(NativeValidation {
            expression,
            message: v.get("message").and_then(Value::as_str).map(str::to_owned),
            message_expression,
        });
    }
    if validations.is_empty() {
        return Err(err(
            at(base),
            format!("template {name:?}: its {NATIVE_ENGINE} code has no validations"),
        ));
    }
    let mut match_conditions = Vec::new();
    for (i, m) in source
        .get("matchCondition")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let pointer = format!("{base}/matchCondition/{i}");
        let condition = m.get("name").and_then(Value::as_str).unwrap_or_default();
        let text = m
            .get("expression")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut expression =
            cel::compile(text, &scope, &["variables", "anyObject"]).map_err(|e| {
                bad(
                    format!("{pointer}/expression"),
                    format!("matchCondition {condition:?}"),
                    e,
                )
            })?;
        expression.inherit_reads(&variables);
        match_conditions.push((condition.to_owned(), expression));
    }
    let fail_open = match source.get("failurePolicy").and_then(Value::as_str) {
        None | Some("Fail") => false,
        Some("Ignore") => true,
        Some(other) => {
            return Err(err(
                at(&format!("{base}/failurePolicy")),
                format!(
                    "template {name:?}: invalid failure policy: unrecognized failure policy: \
                     {other}"
                ),
            ))
        }
    };
    Ok(NativeCode {
        variables,
        validations,
        match_conditions,
        fail_open,
    })
}

fn one_line(message: &str) -> String {
    match crate::policy::rego::regorus_error_parts(message) {
        (Some(l), Some(w)) => format!("{w} (at {l})"),
        _ => message.trim().to_owned(),
    }
}

/// Reads a Constraint document against the loaded templates.
pub(crate) fn constraint(
    doc: &crate::load::yaml::ParsedDocument,
    file: &Path,
    templates: &[Template],
) -> Result<Constraint, GatekeeperError> {
    let v = &doc.value;
    let at = |pointer: &str| doc.positions.resolve(pointer).map(|(p, _)| p);
    let kind = v
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let name = v
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let Some(template) = templates.iter().position(|t| t.kind == kind) else {
        return Err(err(
            at("/kind"),
            format!("constraint {name:?}: no ConstraintTemplate defines kind {kind}"),
        ));
    };
    let parameters = v
        .pointer("/spec/parameters")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if let Some(schema) = &templates[template].schema {
        validate_parameters(schema, &parameters, &name, &at)?;
    }
    let action = match v.pointer("/spec/enforcementAction").and_then(Value::as_str) {
        None | Some("deny") => Enforcement::Deny,
        Some("warn") => Enforcement::Warn,
        Some("dryrun") => Enforcement::DryRun,
        Some(other) => {
            return Err(err(
                at("/spec/enforcementAction"),
                format!(
                "constraint {name:?}: unknown enforcementAction {other:?} (deny, warn or dryrun)"
            ),
            ))
        }
    };
    let matcher = Match::parse(v.pointer("/spec/match"))
        .map_err(|m| err(at("/spec/match"), format!("constraint {name:?}: {m}")))?;
    Ok(Constraint {
        kind,
        name,
        template,
        matcher,
        parameters,
        action,
        file: file.to_path_buf(),
        document: doc.value.clone(),
    })
}

fn validate_parameters(
    schema: &Value,
    parameters: &Value,
    name: &str,
    at: &dyn Fn(&str) -> Option<Position>,
) -> Result<(), GatekeeperError> {
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(schema)
        .map_err(|e| {
            err(
                None,
                format!("constraint {name:?}: the template's openAPIV3Schema is invalid: {e}"),
            )
        })?;
    let Some(first) = validator.iter_errors(parameters).next() else {
        return Ok(());
    };
    let path = first.instance_path().as_str().to_owned();
    let field = if path.is_empty() {
        "parameters".to_owned()
    } else {
        format!("parameters{}", path.replace('/', "."))
    };
    Err(err(
        at(&format!("/spec/parameters{path}")),
        format!("constraint {name:?}: {field}: {first}"),
    ))
}

/// `spec.match` of a constraint.
#[derive(Debug, Clone, Default)]
pub(crate) struct Match {
    /// `(apiGroups, kinds)` pairs; empty means every kind.
    kinds: Vec<(Vec<String>, Vec<String>)>,
    namespaces: Vec<String>,
    excluded_namespaces: Vec<String>,
    label_selector: Option<LabelSelector>,
    namespace_selector: Option<LabelSelector>,
    name: Option<String>,
    scope: Option<String>,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

impl Match {
    fn parse(v: Option<&Value>) -> Result<Self, String> {
        let Some(v) = v else {
            return Ok(Self::default());
        };
        if !v.is_object() {
            return Err("spec.match must be a mapping".into());
        }
        let kinds = v
            .get("kinds")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|k| (strings(k.get("apiGroups")), strings(k.get("kinds"))))
            .collect();
        let scope = v.get("scope").and_then(Value::as_str).map(str::to_owned);
        if let Some(s) = &scope {
            if !matches!(s.as_str(), "*" | "Cluster" | "Namespaced") {
                return Err(format!(
                    "unknown match scope {s:?} (*, Cluster or Namespaced)"
                ));
            }
        }
        Ok(Self {
            kinds,
            namespaces: strings(v.get("namespaces")),
            excluded_namespaces: strings(v.get("excludedNamespaces")),
            label_selector: v
                .get("labelSelector")
                .map(LabelSelector::parse)
                .transpose()?,
            namespace_selector: v
                .get("namespaceSelector")
                .map(LabelSelector::parse)
                .transpose()?,
            name: v.get("name").and_then(Value::as_str).map(str::to_owned),
            scope,
        })
    }

    /// Whether the constraint applies to `manifest`, or why that cannot be decided offline.
    pub(crate) fn decide(&self, manifest: &Manifest, inventory: &Inventory<'_>) -> Decision {
        if !self.matches_known(manifest) {
            return Decision::NoMatch;
        }
        let Some(selector) = &self.namespace_selector else {
            return Decision::Match;
        };
        let object = &manifest.object;
        // The cluster's Namespaces carry the name label the API server sets; so do these.
        let selected = if object.group().is_empty() && object.kind == "Namespace" {
            let name = object.name.as_deref().unwrap_or("");
            selector.matches_namespace(name, manifest.value.pointer("/metadata/labels"))
        } else {
            match object.namespace.as_deref() {
                // Cluster-scoped, or namespaced without a namespace: Gatekeeper matches "all
                // non-Namespace cluster-scoped objects" here.
                None => return Decision::Match,
                Some(ns) => match inventory.find("", "Namespace", None, ns) {
                    Some(namespace) => {
                        selector.matches_namespace(ns, namespace.value.pointer("/metadata/labels"))
                    }
                    None if selector.reads_only_namespace_name() => {
                        selector.matches_namespace(ns, None)
                    }
                    // Gatekeeper errors here ("namespace selector for namespace-scoped object
                    // but missing Namespace"): never a silent non-match.
                    None => {
                        return Decision::Undecided(format!(
                            "namespace {ns:?} is not in the input, so whether its labels match \
                             the constraint's namespaceSelector is unknown; add its Namespace \
                             object or give it with --namespace-labels"
                        ))
                    }
                },
            }
        };
        if selected {
            Decision::Match
        } else {
            Decision::NoMatch
        }
    }

    /// Every criterion but `namespaceSelector`.
    fn matches_known(&self, manifest: &Manifest) -> bool {
        let object = &manifest.object;
        let group = object.group();
        if !self.kinds.is_empty()
            && !self.kinds.iter().any(|(groups, kinds)| {
                (groups.iter().any(|g| g == "*" || g == group))
                    && (kinds.iter().any(|k| k == "*" || *k == object.kind))
            })
        {
            return false;
        }
        let cluster_scoped = crate::model::manifest::is_cluster_scoped(group, &object.kind);
        match self.scope.as_deref() {
            Some("Cluster") if !cluster_scoped => return false,
            Some("Namespaced") if cluster_scoped => return false,
            _ => {}
        }
        // A Namespace object is matched by namespace rules through its own name.
        let namespace = if group.is_empty() && object.kind == "Namespace" {
            object.name.as_deref()
        } else if cluster_scoped {
            None
        } else {
            object.namespace.as_deref()
        };
        if let Some(ns) = namespace {
            if !self.namespaces.is_empty() && !self.namespaces.iter().any(|p| glob(p, ns)) {
                return false;
            }
            if self.excluded_namespaces.iter().any(|p| glob(p, ns)) {
                return false;
            }
        }
        // A namespaced object without `metadata.namespace` (its namespace is chosen at apply
        // time) is not disqualified by `namespaces` or `excludedNamespaces`: Gatekeeper's own
        // rule ("if we don't have a namespace, we can't disqualify the match"), which gator and
        // the gatekeeper-library suites rely on. `--default-namespace` places such objects.
        if let Some(name) = &self.name {
            if !object.name.as_deref().is_some_and(|n| glob(name, n)) {
                return false;
            }
        }
        if let Some(selector) = &self.label_selector {
            if !selector.matches(manifest.value.pointer("/metadata/labels")) {
                return false;
            }
        }
        true
    }
}

/// Whether a constraint applies to an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    Match,
    NoMatch,
    /// It depends on what the input does not hold (a namespace's labels): reported as
    /// "cannot be judged", an advisory finding, never a silent non-match.
    Undecided(String),
}

/// `input.review` as Gatekeeper's audit builds it for an existing object.
pub(crate) fn review(manifest: &Manifest) -> Value {
    let object = &manifest.object;
    let (group, version) = match object.api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", object.api_version.as_str()),
    };
    let mut review = Map::new();
    review.insert(
        "kind".into(),
        json!({"group": group, "version": version, "kind": object.kind}),
    );
    review.insert(
        "name".into(),
        json!(object.name.clone().unwrap_or_default()),
    );
    if let Some(ns) = &object.namespace {
        review.insert("namespace".into(), json!(ns));
    }
    review.insert("operation".into(), json!("CREATE"));
    review.insert("object".into(), manifest.value.clone());
    Value::Object(review)
}

/// `data.inventory` in Gatekeeper's layout: `cluster[groupVersion][kind][name]` and
/// `namespace[ns][groupVersion][kind][name]`. Namespaced objects without a namespace (set at
/// apply time) are placed in `default`, where `kubectl apply` would put them.
pub(crate) fn inventory_data(objects: &[Manifest]) -> Value {
    let mut cluster = Map::new();
    let mut namespaced = Map::new();
    for m in objects {
        let o = &m.object;
        let Some(name) = o.name.clone() else { continue };
        let slot = if crate::model::manifest::is_cluster_scoped(o.group(), &o.kind) {
            &mut cluster
        } else {
            let ns = o.namespace.clone().unwrap_or_else(|| "default".into());
            match namespaced.entry(ns).or_insert_with(|| json!({})) {
                Value::Object(map) => map,
                _ => continue,
            }
        };
        let kinds = slot
            .entry(o.api_version.clone())
            .or_insert_with(|| json!({}));
        if let Some(kinds) = kinds.as_object_mut() {
            if let Some(names) = kinds
                .entry(o.kind.clone())
                .or_insert_with(|| json!({}))
                .as_object_mut()
            {
                // A parked object is read back whole (Gatekeeper syncs whole objects).
                match m.full_value() {
                    Ok(value) => {
                        names.insert(name, value);
                    }
                    Err(e) => tracing::error!(object = %o, "left out of data.inventory: {e}"),
                }
            }
        }
    }
    json!({"inventory": {"cluster": cluster, "namespace": namespaced}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        let s = LabelSelector::parse(&json!({"matchLabels": {"a": "1"}, "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["web", "api"]},
            {"key": "legacy", "operator": "DoesNotExist"}
        ]}))
        .expect("selector");
        assert!(s.matches(Some(&json!({"a": "1", "tier": "web"}))));
        assert!(!s.matches(Some(&json!({"a": "1", "tier": "db"}))));
        assert!(!s.matches(Some(&json!({"a": "1", "tier": "web", "legacy": "x"}))));
        assert!(!s.matches(None));
        assert!(LabelSelector::parse(
            &json!({"matchExpressions": [{"key": "a", "operator": "Near"}]})
        )
        .is_err());
    }
}
