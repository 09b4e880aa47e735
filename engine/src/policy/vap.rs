//! ValidatingAdmissionPolicies and their bindings (`admissionregistration.k8s.io/v1`, v1beta1
//! read the same way), judged offline as the API server's admission plugin judges them
//! (`k8s.io/apiserver/pkg/admission/plugin/policy/validating`):
//!
//! - a binding's `matchResources` narrows its policy's `matchConstraints` (resource rules by
//!   group, version, resource — the kind's plural — operation, name and scope; exclusions;
//!   namespace and object selectors);
//! - `paramKind` + the binding's `paramRef` (by name or selector, namespace, and
//!   `parameterNotFoundAction`) find the params among the input's objects and the policy files';
//! - `matchConditions` (any false skips; an error with none false follows `failurePolicy`),
//!   lazily evaluated `variables`, then each validation: false gives a finding with the
//!   messageExpression's text, else the message, else `failed expression: …`;
//! - the binding's `validationActions` grade it: Deny `high`, Warn `low`, Audit advisory.
//!
//! Offline the request is a CREATE by nobody in particular (the webhook passes the real one), so
//! what only the API server knows is said, never guessed: an expression that needs `authorizer`,
//! or `namespaceObject` of a namespace the input does not hold, gives a "cannot be judged"
//! advisory finding.

use crate::model::inventory::Inventory;
use crate::model::manifest::{is_cluster_scoped, Manifest};
use crate::model::position::Position;
use crate::model::selector::LabelSelector;
use crate::policy::cel;
use serde_json::{json, Value};
use std::cell::OnceCell;
use std::path::PathBuf;

const GROUP: &str = "admissionregistration.k8s.io/";
const POLICY: &str = "ValidatingAdmissionPolicy";
const BINDING: &str = "ValidatingAdmissionPolicyBinding";

/// Whether a document is a ValidatingAdmissionPolicy or a binding.
pub(crate) fn is_vap(doc: &Value) -> bool {
    let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
    api.strip_prefix(GROUP)
        .is_some_and(|v| matches!(v, "v1" | "v1beta1" | "v1alpha1"))
        && matches!(kind, POLICY | BINDING)
}

/// What VAP expressions may read (`authorizer` is declared: reading it is "cannot be judged
/// offline", not an error).
const NAMES: &[&str] = &[
    "object",
    "oldObject",
    "request",
    "params",
    "namespaceObject",
    "authorizer",
];
/// matchConditions and messageExpressions cannot read `authorizer`... messageExpressions
/// cannot; matchConditions can. They cannot read `variables` (no variables are declared).
const MESSAGE_NAMES: &[&str] = &[
    "object",
    "oldObject",
    "request",
    "params",
    "namespaceObject",
];

/// A problem with a policy document: its message and where.
#[derive(Debug, Clone)]
pub(crate) struct VapError {
    pub file: PathBuf,
    pub position: Option<Position>,
    pub message: String,
}

/// One resource rule (`resourceRules[]`, `excludeResourceRules[]`).
#[derive(Debug, Clone, Default)]
struct Rule {
    groups: Vec<String>,
    versions: Vec<String>,
    resources: Vec<String>,
    operations: Vec<String>,
    names: Vec<String>,
    scope: Option<String>,
}

/// `matchConstraints` / `matchResources`.
#[derive(Debug, Clone, Default)]
struct Matcher {
    namespace_selector: LabelSelector,
    object_selector: LabelSelector,
    rules: Vec<Rule>,
    exclude: Vec<Rule>,
}

#[derive(Debug)]
struct Validation {
    expression: cel::Expression,
    message: Option<String>,
    message_expression: Option<cel::Expression>,
    reason: Option<String>,
}

impl Policy {
    /// What the policy checks, for `kubegate explain`: its validations, one per line, with the
    /// message each gives.
    pub(crate) fn describe(&self, binding: &Binding) -> String {
        let mut actions = Vec::new();
        for (on, name) in [
            (binding.actions.deny, "Deny"),
            (binding.actions.warn, "Warn"),
            (binding.actions.audit, "Audit"),
        ] {
            if on {
                actions.push(name);
            }
        }
        let mut text = format!(
            "validationActions: [{}]; failurePolicy: {}\nvalidations:",
            actions.join(", "),
            if self.fail_open { "Ignore" } else { "Fail" }
        );
        for (i, v) in self.validations.iter().enumerate() {
            text.push_str(&format!("\n  [{i}] {}", v.expression.source.trim()));
            if let Some(m) = &v.message {
                text.push_str(&format!("\n      message: {m}"));
            } else if let Some(m) = &v.message_expression {
                text.push_str(&format!("\n      messageExpression: {}", m.source.trim()));
            }
        }
        text
    }
}

/// A compiled ValidatingAdmissionPolicy.
#[derive(Debug)]
pub(crate) struct Policy {
    pub name: String,
    pub file: PathBuf,
    fail_open: bool,
    matcher: Matcher,
    match_conditions: Vec<(String, cel::Expression)>,
    variables: Vec<cel::Variable>,
    validations: Vec<Validation>,
    /// `paramKind`: (group, kind).
    param_kind: Option<(String, String)>,
}

#[derive(Debug, Clone)]
struct ParamRef {
    name: Option<String>,
    namespace: Option<String>,
    selector: Option<LabelSelector>,
    /// `parameterNotFoundAction: Deny`.
    deny_if_missing: bool,
}

/// The binding's `validationActions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Actions {
    pub deny: bool,
    pub warn: bool,
    pub audit: bool,
}

/// A compiled binding.
#[derive(Debug)]
pub(crate) struct Binding {
    pub name: String,
    pub file: PathBuf,
    /// Index into the policies.
    pub policy: usize,
    matcher: Option<Matcher>,
    param_ref: Option<ParamRef>,
    pub actions: Actions,
}

/// A parameter object found in the policy files.
#[derive(Debug, Clone)]
pub(crate) struct ParamObject {
    pub value: Value,
}

/// The policies, bindings and parameter objects of a policy set.
#[derive(Debug, Default)]
pub(crate) struct Vaps {
    pub policies: Vec<Policy>,
    pub bindings: Vec<Binding>,
    params: Vec<ParamObject>,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// A pointer-addressed reader over one document, for errors with positions.
struct Doc<'a> {
    doc: &'a crate::load::yaml::ParsedDocument,
    file: &'a PathBuf,
}

impl Doc<'_> {
    fn error(&self, pointer: &str, message: String) -> VapError {
        VapError {
            file: self.file.clone(),
            position: self
                .doc
                .positions
                .resolve(pointer)
                .map(|(p, _)| p)
                .or(Some(self.doc.start)),
            message,
        }
    }

    fn get(&self, pointer: &str) -> Option<&Value> {
        self.doc.value.pointer(pointer)
    }

    fn name(&self) -> String {
        self.get("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }

    fn matcher(&self, pointer: &str) -> Result<Matcher, VapError> {
        let Some(m) = self.get(pointer) else {
            return Ok(Matcher::default());
        };
        let selector = |key: &str| -> Result<LabelSelector, VapError> {
            match m.get(key) {
                None | Some(Value::Null) => Ok(LabelSelector::default()),
                Some(s) => LabelSelector::parse(s)
                    .map_err(|e| self.error(&format!("{pointer}/{key}"), format!("{key}: {e}"))),
            }
        };
        let rules = |key: &str| -> Vec<Rule> {
            m.get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|r| Rule {
                    groups: strings(r.get("apiGroups")),
                    versions: strings(r.get("apiVersions")),
                    resources: strings(r.get("resources")),
                    operations: strings(r.get("operations")),
                    names: strings(r.get("resourceNames")),
                    scope: r.get("scope").and_then(Value::as_str).map(str::to_owned),
                })
                .collect()
        };
        Ok(Matcher {
            namespace_selector: selector("namespaceSelector")?,
            object_selector: selector("objectSelector")?,
            rules: rules("resourceRules"),
            exclude: rules("excludeResourceRules"),
        })
    }

    fn compile(
        &self,
        pointer: &str,
        what: &str,
        scope: &cel::Scope<'_>,
        variables: &[cel::Variable],
    ) -> Result<cel::Expression, VapError> {
        let text = self
            .get(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut e = cel::compile(text, scope, &["object"])
            .map_err(|e| self.error(pointer, format!("{POLICY} {:?}: {what}: {e}", self.name())))?;
        e.inherit_reads(variables);
        Ok(e)
    }
}

/// Compiles a ValidatingAdmissionPolicy document.
fn policy(doc: &Doc<'_>) -> Result<Policy, VapError> {
    let name = doc.name();
    if name.is_empty() {
        return Err(doc.error("/metadata", format!("a {POLICY} needs metadata.name")));
    }
    let fail_open = match doc.get("/spec/failurePolicy").and_then(Value::as_str) {
        None | Some("Fail") => false,
        Some("Ignore") => true,
        Some(other) => {
            return Err(doc.error(
                "/spec/failurePolicy",
                format!("{POLICY} {name:?}: unrecognized failure policy: '{other}'"),
            ))
        }
    };
    let matcher = doc.matcher("/spec/matchConstraints")?;
    if matcher.rules.is_empty() {
        return Err(doc.error(
            "/spec/matchConstraints",
            format!(
                "{POLICY} {name:?}: spec.matchConstraints.resourceRules: at least one \
                 resourceRule must be defined to provide type information"
            ),
        ));
    }
    let param_kind = match doc.get("/spec/paramKind") {
        None | Some(Value::Null) => None,
        Some(p) => {
            let api = p
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let kind = p.get("kind").and_then(Value::as_str).unwrap_or_default();
            if kind.is_empty() {
                return Err(doc.error(
                    "/spec/paramKind",
                    format!("{POLICY} {name:?}: paramKind needs apiVersion and kind"),
                ));
            }
            let group = api.rsplit_once('/').map_or("", |(g, _)| g);
            Some((group.to_owned(), kind.to_owned()))
        }
    };
    let no_variables: Vec<String> = Vec::new();
    let condition_scope = cel::Scope {
        names: NAMES,
        variables: &no_variables,
        provided: &[],
    };
    let mut match_conditions = Vec::new();
    let conditions = doc
        .get("/spec/matchConditions")
        .and_then(Value::as_array)
        .map(Vec::len)
        .unwrap_or(0);
    if conditions > 64 {
        return Err(doc.error(
            "/spec/matchConditions",
            format!("{POLICY} {name:?}: spec.matchConditions: Too many: {conditions}: must have at most 64 items"),
        ));
    }
    for i in 0..conditions {
        let base = format!("/spec/matchConditions/{i}");
        let condition = doc
            .get(&format!("{base}/name"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if condition.is_empty() || match_conditions.iter().any(|(n, _)| *n == condition) {
            return Err(doc.error(
                &base,
                format!("{POLICY} {name:?}: matchConditions[{i}] needs a unique name"),
            ));
        }
        let e = doc.compile(
            &format!("{base}/expression"),
            &format!("matchCondition {condition:?}"),
            &condition_scope,
            &[],
        )?;
        match_conditions.push((condition, e));
    }
    let mut declared: Vec<String> = Vec::new();
    let mut variables: Vec<cel::Variable> = Vec::new();
    let count = |p: &str| {
        doc.get(p)
            .and_then(Value::as_array)
            .map(Vec::len)
            .unwrap_or(0)
    };
    for i in 0..count("/spec/variables") {
        let base = format!("/spec/variables/{i}");
        let var = doc
            .get(&format!("{base}/name"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if var.is_empty() || declared.contains(&var) {
            return Err(doc.error(
                &base,
                format!("{POLICY} {name:?}: variables[{i}] needs a unique name"),
            ));
        }
        let scope = cel::Scope {
            names: NAMES,
            variables: &declared,
            provided: &[],
        };
        let expression = doc.compile(
            &format!("{base}/expression"),
            &format!("variable {var:?}"),
            &scope,
            &variables,
        )?;
        declared.push(var.clone());
        variables.push(cel::Variable {
            name: var,
            expression,
        });
    }
    let scope = cel::Scope {
        names: NAMES,
        variables: &declared,
        provided: &[],
    };
    let message_scope = cel::Scope {
        names: MESSAGE_NAMES,
        variables: &declared,
        provided: &[],
    };
    let mut validations = Vec::new();
    for i in 0..count("/spec/validations") {
        let base = format!("/spec/validations/{i}");
        let expression = doc.compile(
            &format!("{base}/expression"),
            &format!("validations[{i}].expression"),
            &scope,
            &variables,
        )?;
        let message_expression = match doc.get(&format!("{base}/messageExpression")) {
            None | Some(Value::Null) => None,
            Some(_) => Some(doc.compile(
                &format!("{base}/messageExpression"),
                &format!("validations[{i}].messageExpression"),
                &message_scope,
                &variables,
            )?),
        };
        let message = doc
            .get(&format!("{base}/message"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(m) = &message {
            if m.trim().is_empty() || m.contains('\n') {
                return Err(doc.error(
                    &format!("{base}/message"),
                    format!(
                        "{POLICY} {name:?}: validations[{i}].message must be non-empty and on \
                         one line"
                    ),
                ));
            }
        }
        let reason = doc
            .get(&format!("{base}/reason"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(r) = &reason {
            if !matches!(
                r.as_str(),
                "Unauthorized" | "Forbidden" | "Invalid" | "RequestEntityTooLarge"
            ) {
                return Err(doc.error(
                    &format!("{base}/reason"),
                    format!(
                        "{POLICY} {name:?}: validations[{i}].reason: Unsupported value: {r:?}: \
                         supported values: \"Unauthorized\", \"Forbidden\", \"Invalid\", \
                         \"RequestEntityTooLarge\""
                    ),
                ));
            }
        }
        validations.push(Validation {
            expression,
            message,
            message_expression,
            reason,
        });
    }
    // auditAnnotations only annotate the audit log: compiled (an error is an error), not run.
    for i in 0..count("/spec/auditAnnotations") {
        let base = format!("/spec/auditAnnotations/{i}");
        doc.compile(
            &format!("{base}/valueExpression"),
            &format!("auditAnnotations[{i}].valueExpression"),
            &message_scope,
            &variables,
        )?;
    }
    if validations.is_empty() && count("/spec/auditAnnotations") == 0 {
        return Err(doc.error(
            "/spec",
            format!(
                "{POLICY} {name:?}: validations or auditAnnotations must contain at least one item"
            ),
        ));
    }
    Ok(Policy {
        name,
        file: doc.file.clone(),
        fail_open,
        matcher,
        match_conditions,
        variables,
        validations,
        param_kind,
    })
}

/// Compiles a binding document; `policies` are the compiled policies.
fn binding(doc: &Doc<'_>, policies: &[Policy], failed: &[String]) -> Result<Binding, VapError> {
    let name = doc.name();
    let wanted = doc
        .get("/spec/policyName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut actions = Actions {
        deny: false,
        warn: false,
        audit: false,
    };
    let listed = strings(doc.get("/spec/validationActions"));
    if listed.is_empty() {
        return Err(doc.error(
            "/spec/validationActions",
            format!("{BINDING} {name:?}: at least one validation action is required"),
        ));
    }
    for a in &listed {
        match a.as_str() {
            "Deny" => actions.deny = true,
            "Warn" => actions.warn = true,
            "Audit" => actions.audit = true,
            other => {
                return Err(doc.error(
                    "/spec/validationActions",
                    format!(
                        "{BINDING} {name:?}: validationActions: Unsupported value: {other:?}: \
                         supported values: \"Audit\", \"Deny\", \"Warn\""
                    ),
                ))
            }
        }
    }
    if actions.deny && actions.warn {
        return Err(doc.error(
            "/spec/validationActions",
            format!(
                "{BINDING} {name:?}: validationActions must not contain both Deny and Warn \
                 (repeating the same validation failure information in the API response and \
                 headers serves no purpose)"
            ),
        ));
    }
    let Some(policy) = policies.iter().position(|p| p.name == wanted) else {
        if failed.iter().any(|f| f == wanted) {
            return Err(doc.error(
                "/spec/policyName",
                format!("{BINDING} {name:?}: its {POLICY} {wanted:?} failed to load (above)"),
            ));
        }
        return Err(doc.error(
            "/spec/policyName",
            format!(
                "{BINDING} {name:?}: policyName {wanted:?} names no {POLICY} in the policy files"
            ),
        ));
    };
    let param_ref = match doc.get("/spec/paramRef") {
        None | Some(Value::Null) => None,
        Some(p) => {
            let selector = match p.get("selector") {
                None | Some(Value::Null) => None,
                Some(s) => Some(LabelSelector::parse(s).map_err(|e| {
                    doc.error(
                        "/spec/paramRef/selector",
                        format!("{BINDING} {name:?}: {e}"),
                    )
                })?),
            };
            let ref_name = p.get("name").and_then(Value::as_str).map(str::to_owned);
            if ref_name.is_some() == selector.is_some() {
                return Err(doc.error(
                    "/spec/paramRef",
                    format!(
                        "{BINDING} {name:?}: paramRef: {}",
                        if ref_name.is_some() {
                            "name and selector are mutually exclusive"
                        } else {
                            "one of name or selector must be specified"
                        }
                    ),
                ));
            }
            let deny_if_missing = match p.get("parameterNotFoundAction").and_then(Value::as_str) {
                Some("Deny") => true,
                Some("Allow") => false,
                _ => {
                    return Err(doc.error(
                        "/spec/paramRef",
                        format!(
                            "{BINDING} {name:?}: paramRef.parameterNotFoundAction: Required \
                             value (Allow or Deny)"
                        ),
                    ))
                }
            };
            if policies[policy].param_kind.is_none() {
                return Err(doc.error(
                    "/spec/paramRef",
                    format!("{BINDING} {name:?}: paramRef is set but {POLICY} {wanted:?} has no paramKind"),
                ));
            }
            Some(ParamRef {
                name: ref_name,
                namespace: p
                    .get("namespace")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                selector,
                deny_if_missing,
            })
        }
    };
    let matcher = match doc.get("/spec/matchResources") {
        None | Some(Value::Null) => None,
        Some(_) => Some(doc.matcher("/spec/matchResources")?),
    };
    Ok(Binding {
        name,
        file: doc.file.clone(),
        policy,
        matcher,
        param_ref,
        actions,
    })
}

impl Vaps {
    /// Compiles the VAP documents among `docs`; the other Kubernetes objects there may be
    /// parameters. A policy no binding names is not enforced by the API server and is not
    /// judged with either: that is logged, never silent.
    pub(crate) fn load(
        docs: &[(PathBuf, crate::load::yaml::ParsedDocument)],
        objects: Vec<Value>,
        errors: &mut Vec<VapError>,
    ) -> Self {
        let kind_of = |d: &crate::load::yaml::ParsedDocument| {
            d.value
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let mut policies: Vec<Policy> = Vec::new();
        let mut failed: Vec<String> = Vec::new();
        for (file, d) in docs.iter().filter(|(_, d)| kind_of(d) == POLICY) {
            let doc = Doc { doc: d, file };
            match policy(&doc).inspect_err(|_| failed.push(doc.name())) {
                Ok(p) if policies.iter().any(|o| o.name == p.name) => errors.push(doc.error(
                    "/metadata/name",
                    format!("a second {POLICY} is named {:?}", p.name),
                )),
                Ok(p) => policies.push(p),
                Err(e) => errors.push(e),
            }
        }
        let mut bindings: Vec<Binding> = Vec::new();
        for (file, d) in docs.iter().filter(|(_, d)| kind_of(d) == BINDING) {
            let doc = Doc { doc: d, file };
            match binding(&doc, &policies, &failed) {
                Ok(b) if bindings.iter().any(|o| o.name == b.name) => errors.push(doc.error(
                    "/metadata/name",
                    format!("a second {BINDING} is named {:?}", b.name),
                )),
                Ok(b) => bindings.push(b),
                Err(e) => errors.push(e),
            }
        }
        for (i, p) in policies.iter().enumerate() {
            if !bindings.iter().any(|b| b.policy == i) {
                tracing::warn!(
                    policy = %p.name,
                    file = %p.file.display(),
                    "no ValidatingAdmissionPolicyBinding names this policy: the API server does \
                     not enforce it, and kubegate does not judge with it"
                );
            }
        }
        let kinds: Vec<&(String, String)> = policies
            .iter()
            .filter_map(|p| p.param_kind.as_ref())
            .collect();
        let params = objects
            .into_iter()
            .filter(|o| {
                let (group, kind) = identity(o);
                kinds.iter().any(|(g, k)| *g == group && *k == kind)
            })
            .map(|value| ParamObject { value })
            .collect();
        Self {
            policies,
            bindings,
            params,
        }
    }
}

fn identity(o: &Value) -> (&str, &str) {
    let api = o.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = o.get("kind").and_then(Value::as_str).unwrap_or("");
    (api.rsplit_once('/').map_or("", |(g, _)| g), kind)
}

/// The resource (plural) of a kind. CRDs in the input name theirs (`spec.names.plural`), then
/// those given apart (`crds`: `--crd`, `schema.crds`); for
/// other kinds the plural is guessed as the API server's `UnsafeGuessKindToResource` does for
/// built-in kinds (`ies` for a consonant and `y`, `es` after `s`), except that a vowel and `y`
/// takes `s` (`Gateway` → `gateways`, not `gatewaies`): no built-in kind ends so, and CRD
/// generators (kubebuilder) pluralise that way.
pub(crate) fn resource_of(
    kind: &str,
    inventory: &Inventory<'_>,
    crds: Option<&crate::schema::crd::CrdSchemas>,
    group: &str,
) -> String {
    for crd in inventory.in_namespace("apiextensions.k8s.io", "CustomResourceDefinition", None) {
        let v = &crd.value;
        if v.pointer("/spec/group").and_then(Value::as_str) == Some(group)
            && v.pointer("/spec/names/kind").and_then(Value::as_str) == Some(kind)
        {
            if let Some(plural) = v.pointer("/spec/names/plural").and_then(Value::as_str) {
                return plural.to_owned();
            }
        }
    }
    // Then the CRDs given apart (`--crd`, `schema.crds`).
    if let Some(plural) = crds.and_then(|c| c.plural(group, kind)) {
        return plural.to_owned();
    }
    guess_resource(kind)
}

fn guess_resource(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if lower == "endpoints" {
        return lower;
    }
    let before_y = lower.strip_suffix('y');
    let vowel_y = before_y
        .and_then(|stem| stem.chars().last())
        .is_some_and(|c| matches!(c, 'a' | 'e' | 'i' | 'o' | 'u'));
    if lower.ends_with('s') {
        format!("{lower}es")
    } else if let (Some(stem), false) = (before_y, vowel_y) {
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    }
}

/// What is being admitted: the request attributes rules match on.
#[derive(Debug)]
pub(crate) struct Attributes<'a> {
    pub group: &'a str,
    pub version: &'a str,
    pub resource: String,
    pub operation: &'a str,
    pub name: &'a str,
    pub namespace: Option<&'a str>,
    pub cluster_scoped: bool,
    pub is_namespace: bool,
}

fn any_or(list: &[String], value: &str) -> bool {
    list.iter().any(|v| v == "*" || v == value)
}

impl Rule {
    fn matches(&self, a: &Attributes<'_>) -> bool {
        let scope_ok = match self.scope.as_deref() {
            Some("Namespaced") => !a.is_namespace && a.namespace.is_some() && !a.cluster_scoped,
            Some("Cluster") => a.is_namespace || a.cluster_scoped || a.namespace.is_none(),
            _ => true,
        };
        // An object is a resource without a subresource: `pods`, `*`, `pods/*` and `*/*` match
        // it (rules.go: the sub-resource part matches when it is `*` or equal).
        let resource_ok = self.resources.iter().any(|r| {
            let (res, sub) = r.split_once('/').unwrap_or((r, ""));
            (res == "*" || res == a.resource) && (sub.is_empty() || sub == "*")
        });
        scope_ok
            && any_or(&self.operations, a.operation)
            && any_or(&self.groups, a.group)
            && any_or(&self.versions, a.version)
            && resource_ok
            && (self.names.is_empty() || self.names.iter().any(|n| n == a.name))
    }
}

/// Whether a matcher applies, and why it cannot be decided offline.
enum Decision {
    Match,
    NoMatch,
    Undecided(String),
}

impl Matcher {
    fn decide(
        &self,
        a: &Attributes<'_>,
        manifest: &Manifest,
        inventory: &Inventory<'_>,
        require_rules: bool,
    ) -> Decision {
        if !self.namespace_selector.is_empty() {
            let selector = &self.namespace_selector;
            // Cluster-scoped objects (other than Namespaces) always match the selector.
            let exempt = !a.is_namespace && (a.cluster_scoped || a.namespace.is_none());
            let selected = if exempt {
                true
            } else if a.is_namespace {
                selector.matches_namespace(a.name, manifest.value.pointer("/metadata/labels"))
            } else {
                let ns = a.namespace.unwrap_or_default();
                match inventory.find("", "Namespace", None, ns) {
                    Some(n) => selector.matches_namespace(ns, n.value.pointer("/metadata/labels")),
                    None if selector.reads_only_namespace_name() => {
                        selector.matches_namespace(ns, None)
                    }
                    None => {
                        return Decision::Undecided(format!(
                            "namespace {ns:?} is not in the input, so whether its labels match \
                             the namespaceSelector is unknown; add its Namespace object or give \
                             it with --namespace-labels"
                        ))
                    }
                }
            };
            if !selected {
                return Decision::NoMatch;
            }
        }
        if !self
            .object_selector
            .matches(manifest.value.pointer("/metadata/labels"))
        {
            return Decision::NoMatch;
        }
        if self.exclude.iter().any(|r| r.matches(a)) {
            return Decision::NoMatch;
        }
        if (require_rules || !self.rules.is_empty()) && !self.rules.iter().any(|r| r.matches(a)) {
            return Decision::NoMatch;
        }
        Decision::Match
    }
}

/// One finding of a binding on an object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VapFinding {
    /// Index into the bindings.
    pub binding: usize,
    pub message: String,
    pub pointer: String,
    /// The validation it comes from (absent for matchCondition, params and offline limits).
    pub validation: Option<usize>,
    pub reason: Option<String>,
    /// Not a verdict: kubegate cannot judge this offline, or failurePolicy Ignore dropped an
    /// error the API server would not report.
    pub undecided: bool,
}

impl Vaps {
    pub(crate) fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }

    /// Every binding on one object. `review` is the webhook's real request (an AdmissionRequest
    /// as JSON); `None` judges the object as a CREATE.
    pub(crate) fn evaluate(
        &self,
        manifest: &Manifest,
        inventory: &Inventory<'_>,
        crds: Option<&crate::schema::crd::CrdSchemas>,
        review: Option<&Value>,
        out: &mut Vec<VapFinding>,
        reached: &mut Vec<usize>,
    ) {
        let object = &manifest.object;
        let (group, version) = object
            .api_version
            .rsplit_once('/')
            .unwrap_or(("", object.api_version.as_str()));
        let operation = review
            .and_then(|r| r.get("operation"))
            .and_then(Value::as_str)
            .unwrap_or("CREATE");
        let is_namespace = group.is_empty() && object.kind == "Namespace";
        let attributes = Attributes {
            group,
            version,
            resource: resource_of(&object.kind, inventory, crds, group),
            operation,
            name: object.name.as_deref().unwrap_or(""),
            namespace: object.namespace.as_deref(),
            cluster_scoped: is_cluster_scoped(group, &object.kind),
            is_namespace,
        };
        // namespaceObject: null for cluster-scoped objects and Namespaces; else the input's.
        static NULL: Value = Value::Null;
        let namespace_object = if attributes.cluster_scoped || is_namespace {
            Some(&NULL)
        } else {
            attributes
                .namespace
                .and_then(|ns| inventory.find("", "Namespace", None, ns))
                .map(|n| &n.value)
        };
        // The request and the CEL values are built when a binding first matches: most objects
        // match no binding, and the webhook's request is borrowed, never copied.
        let built_request: OnceCell<Value> = OnceCell::new();
        let values_cell: OnceCell<cel::Values<'_>> = OnceCell::new();
        let values = || {
            values_cell.get_or_init(|| {
                let request: &Value = match review {
                    Some(r) => r,
                    None => built_request.get_or_init(|| {
                        json!({
                            "kind": {"group": group, "version": version, "kind": object.kind},
                            "resource": {"group": group, "version": version, "resource": attributes.resource},
                            "requestKind": {"group": group, "version": version, "kind": object.kind},
                            "requestResource": {"group": group, "version": version, "resource": attributes.resource},
                            "name": attributes.name,
                            "namespace": attributes.namespace.unwrap_or(""),
                            "operation": operation,
                            "userInfo": {},
                            "dryRun": false,
                        })
                    }),
                };
                let old = request.get("oldObject").unwrap_or(&NULL);
                let object_json = if operation == "DELETE" {
                    &NULL
                } else {
                    &manifest.value
                };
                let mut named = vec![
                    ("object", object_json),
                    ("oldObject", old),
                    ("request", request),
                ];
                if let Some(n) = namespace_object {
                    named.push(("namespaceObject", n));
                }
                cel::Values::new(&named)
            })
        };
        for (b, binding) in self.bindings.iter().enumerate() {
            let policy = &self.policies[binding.policy];
            let mut found = |message: String, pointer: String, undecided: bool| {
                out.push(VapFinding {
                    binding: b,
                    message,
                    pointer,
                    validation: None,
                    reason: None,
                    undecided,
                })
            };
            let decisions = [
                policy
                    .matcher
                    .decide(&attributes, manifest, inventory, true),
                match &binding.matcher {
                    Some(m) => m.decide(&attributes, manifest, inventory, false),
                    None => Decision::Match,
                },
            ];
            let mut matched = true;
            for d in decisions {
                match d {
                    Decision::Match => {}
                    Decision::NoMatch => matched = false,
                    Decision::Undecided(why) => {
                        found(
                            format!("cannot be judged: {why}"),
                            "/metadata/namespace".into(),
                            true,
                        );
                        matched = false;
                    }
                }
                if !matched {
                    break;
                }
            }
            if !matched {
                continue;
            }
            let params = match self.params_for(policy, binding, &attributes, inventory) {
                Ok(p) => p,
                Err(message) => {
                    // A configuration error: denied under Fail, admitted under Ignore.
                    if !policy.fail_open {
                        found(
                            format!("failed to configure binding: {message}"),
                            String::new(),
                            false,
                        );
                    }
                    continue;
                }
            };
            // No paramRef: params is null, evaluated once; params found: each, all must pass.
            let runs: Vec<Option<&Value>> = if binding.param_ref.is_none() {
                vec![None]
            } else {
                params.into_iter().map(Some).collect()
            };
            for param in runs {
                self.run(
                    b,
                    policy,
                    values(),
                    namespace_object.is_none(),
                    param,
                    &manifest.value,
                    out,
                    reached,
                );
            }
        }
    }

    /// The parameter objects a binding selects for an object, from the input and the policy
    /// files. Objects without a namespace (placed at apply time) are in any namespace. `Err` is
    /// the API server's configuration error.
    fn params_for<'a>(
        &'a self,
        policy: &Policy,
        binding: &Binding,
        a: &Attributes<'_>,
        inventory: &'a Inventory<'_>,
    ) -> Result<Vec<&'a Value>, String> {
        let (Some((group, kind)), Some(r)) = (&policy.param_kind, &binding.param_ref) else {
            return Ok(Vec::new());
        };
        let cluster_param = is_cluster_scoped(group, kind);
        if cluster_param && r.namespace.is_some() {
            return Err(
                "paramRef.namespace must not be provided for a cluster-scoped `paramKind`".into(),
            );
        }
        let wanted_ns = r
            .namespace
            .as_deref()
            .or(if cluster_param { None } else { a.namespace });
        let mut candidates: Vec<&Value> = Vec::new();
        for o in inventory.all() {
            if o.object.group() == group && o.object.kind == *kind {
                candidates.push(&o.value);
            }
        }
        candidates.extend(
            self.params
                .iter()
                .map(|p| &p.value)
                .filter(|v| identity(v) == (group.as_str(), kind.as_str())),
        );
        let selected: Vec<&Value> = candidates
            .into_iter()
            .filter(|v| {
                let ns = v.pointer("/metadata/namespace").and_then(Value::as_str);
                ns.is_none() || cluster_param || ns == wanted_ns
            })
            .filter(|v| match (&r.name, &r.selector) {
                (Some(n), _) => v.pointer("/metadata/name").and_then(Value::as_str) == Some(n),
                (None, Some(s)) => s.matches(v.pointer("/metadata/labels")),
                (None, None) => false,
            })
            .collect();
        if selected.is_empty() && r.deny_if_missing {
            return Err(
                "no params found for policy binding with `Deny` parameterNotFoundAction".into(),
            );
        }
        Ok(selected)
    }

    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        b: usize,
        policy: &Policy,
        values: &cel::Values<'_>,
        namespace_unknown: bool,
        param: Option<&Value>,
        object: &Value,
        out: &mut Vec<VapFinding>,
        reached: &mut Vec<usize>,
    ) {
        let param_val = param.map(cel::to_val);
        let null: &dyn cel::Val = &cel::NULL;
        let params = Some(("params", param_val.as_deref().unwrap_or(null)));
        let activation = cel::Activation::new(values, params, &[], &policy.variables);
        let push = |out: &mut Vec<VapFinding>,
                    message: String,
                    pointer: String,
                    validation: Option<usize>,
                    reason: Option<String>,
                    undecided: bool| {
            out.push(VapFinding {
                binding: b,
                message,
                pointer,
                validation,
                reason,
                undecided,
            })
        };
        let offline = |e: &cel::Expression| {
            if e.needs_authorizer {
                Some("it reads `authorizer`, which only the API server has".to_owned())
            } else if namespace_unknown && e.reads_name("namespaceObject") {
                Some(
                    "it reads `namespaceObject`, and the object's namespace is not in the input"
                        .to_owned(),
                )
            } else {
                None
            }
        };
        for (name, condition) in &policy.match_conditions {
            if let Some(why) = offline(condition) {
                push(
                    out,
                    format!("cannot be judged offline: matchCondition {name:?}: {why}"),
                    String::new(),
                    None,
                    None,
                    true,
                );
                return;
            }
            match activation.eval_bool(condition) {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    if !policy.fail_open {
                        push(
                            out,
                            format!(
                                "matchCondition '{name}': expression '{}' resulted in error: {e}",
                                condition.source.trim()
                            ),
                            String::new(),
                            None,
                            None,
                            false,
                        );
                    }
                    return;
                }
            }
        }
        // Every matchCondition held: the binding's validations judge the object.
        if !reached.contains(&b) {
            reached.push(b);
        }
        for (i, v) in policy.validations.iter().enumerate() {
            let pointer = v.expression.position_in(object);
            if let Some(why) = offline(&v.expression) {
                push(
                    out,
                    format!("cannot be judged offline: validations[{i}]: {why}"),
                    pointer,
                    Some(i),
                    None,
                    true,
                );
                continue;
            }
            match activation.eval_bool(&v.expression) {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    let message = format!(
                        "expression '{}' resulted in error: {e}",
                        v.expression.source.trim()
                    );
                    if policy.fail_open {
                        push(
                            out,
                            format!("cannot be judged (failurePolicy: Ignore): {message}"),
                            pointer,
                            Some(i),
                            None,
                            true,
                        );
                    } else {
                        push(out, message, pointer, Some(i), v.reason.clone(), false);
                    }
                    continue;
                }
            }
            // The API server's limit on a message is the expression limit (5 KiB).
            let message = cel::failure_message(
                &activation,
                v.message_expression.as_ref(),
                v.message.as_deref(),
                &v.expression,
                cel::MAX_EXPRESSION_BYTES,
            );
            push(out, message, pointer, Some(i), v.reason.clone(), false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::guess_resource;

    #[test]
    fn plurals_are_guessed_as_the_api_server_and_crd_generators_do() {
        for (kind, plural) in [
            ("Deployment", "deployments"),
            ("NetworkPolicy", "networkpolicies"),
            ("Ingress", "ingresses"),
            ("Endpoints", "endpoints"),
            ("Gateway", "gateways"),
            ("HTTPRoute", "httproutes"),
        ] {
            assert_eq!(guess_resource(kind), plural, "{kind}");
        }
    }
}
