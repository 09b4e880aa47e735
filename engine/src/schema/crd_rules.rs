//! CRD validation rules: the `x-kubernetes-validations` CEL rules of a CustomResourceDefinition's
//! schema, enforced as the API server enforces them (apiextensions-apiserver's CEL validator,
//! whose behaviour this follows; the code is kubegate's own):
//!
//! - each rule runs at its schema node with `self` bound to the value there, for every value
//!   of the node present in the object (each item of `items`, each value of
//!   `additionalProperties`); null values are not validated;
//! - at the root of a resource (and of an `x-kubernetes-embedded-resource`) `self` sees
//!   `apiVersion`, `kind` and of `metadata` only `name` and `generateName`;
//! - a transition rule (one that reads `oldSelf`) runs only when there is an old value: on an
//!   UPDATE admission request, for nodes whose old value correlates (object properties,
//!   granular maps, and `x-kubernetes-list-type: map` items by their keys). With
//!   `optionalOldSelf: true` it also runs without one, `oldSelf` being `optional.none()`;
//! - a failed rule's message is the `messageExpression`'s string, else `message`, else
//!   `failed rule: <rule>`; `reason` picks the error type and `fieldPath` the field it names;
//! - an evaluation error fails the rule (`<error> evaluating rule: <rule>`).
//!
//! Not modelled: the per-expression and per-object cost budgets, and CEL's static type check
//! against the schema (a rule the API server would refuse at CRD creation for a type error is
//! reported when it fails to evaluate). A rule that uses a CEL library kubegate does not
//! implement is never skipped silently: each object it would judge gets an advisory note.

use crate::model::position::{dotted, escape_token};
use crate::policy::cel::{self, Activation, Expression, Scope, Val, Values};
use crate::vocab::Violation;
use serde_json::{Map, Value};

/// Starts the message of a note for a rule kubegate cannot evaluate ([`is_note`]).
const CANNOT_JUDGE: &str = "kubegate cannot judge this rule";

/// Whether a KG004 violation is a note about a rule kubegate cannot evaluate (it is reported
/// as advisory, not at KG004's severity).
pub(crate) fn is_note(violation: &Violation) -> bool {
    // Only the notes start so: a failed rule's message starts with the field and the error
    // type (`spec: Invalid value: …`), whatever the CRD's own message says.
    violation
        .message
        .strip_prefix(field_name(&violation.pointer).as_str())
        .is_some_and(|rest| rest.starts_with(&format!(": {CANNOT_JUDGE} ")))
}

/// The longest evaluated `messageExpression` the API server uses (`MaxEvaluatedMessage
/// ExpressionSizeBytes`, 5 KiB); a longer one falls back to `message`.
const MAX_MESSAGE_BYTES: usize = 5 * 1024;

/// The error type a failed rule reports (`reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Invalid,
    Forbidden,
    Required,
    Duplicate,
}

/// One `x-kubernetes-validations` entry.
#[derive(Debug)]
struct Rule {
    /// The rule's text, trimmed, for messages.
    text: String,
    /// `message`, trimmed, when given.
    message: Option<String>,
    compiled: Result<Compiled, String>,
    /// Reference tokens of `fieldPath` below the node.
    field_path: Vec<String>,
    reason: Reason,
    optional_old_self: bool,
}

#[derive(Debug)]
struct Compiled {
    expression: Expression,
    message_expression: Option<Expression>,
    /// Reads `oldSelf`: a transition rule.
    transition: bool,
}

impl Rule {
    /// What the API server's messages call the rule: its message when it has one.
    fn error_string(&self) -> &str {
        self.message.as_deref().unwrap_or(&self.text)
    }
}

/// The rules of one schema node and of the nodes below it that have any.
#[derive(Debug, Default)]
pub(crate) struct RuleNode {
    /// The node's `type` (`object`, `string`…; empty when it has none), which the API
    /// server's messages show as the invalid value.
    kind: String,
    rules: Vec<Rule>,
    /// The root of a resource: `self.metadata` shows only `name` and `generateName`.
    resource_root: bool,
    properties: Vec<(String, RuleNode)>,
    items: Option<Box<RuleNode>>,
    additional: Option<Box<RuleNode>>,
    all_of: Vec<RuleNode>,
    /// `x-kubernetes-list-map-keys` of a `map` list: old items correlate by these keys.
    map_keys: Option<Vec<String>>,
    /// `x-kubernetes-map-type: atomic`: old values of its entries do not correlate.
    atomic_map: bool,
}

impl RuleNode {
    /// The rules of `schema` (an `openAPIV3Schema`, at `pointer` inside the CRD), or `None`
    /// when it has none. Problems the API server would refuse the CRD for (a rule that does
    /// not compile, a bad `fieldPath` or `reason`) go to `problems`, at the rule.
    pub(crate) fn build(
        schema: &Value,
        pointer: &str,
        problems: &mut Vec<Violation>,
    ) -> Option<Self> {
        Self::node(schema, pointer, true, problems)
    }

    fn node(
        schema: &Value,
        pointer: &str,
        resource_root: bool,
        problems: &mut Vec<Violation>,
    ) -> Option<Self> {
        let schema = schema.as_object()?;
        let mut node = RuleNode {
            kind: schema
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            resource_root,
            ..RuleNode::default()
        };
        for (i, entry) in schema
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("{pointer}/x-kubernetes-validations/{i}");
            if let Some(rule) = compile_rule(entry, &at, problems) {
                node.rules.push(rule);
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, sub) in props {
                let at = format!("{pointer}/properties/{}", escape_token(name));
                if let Some(child) = Self::node(sub, &at, embedded(sub), problems) {
                    node.properties.push((name.clone(), child));
                }
            }
        }
        if let Some(items) = schema.get("items") {
            node.items = Self::node(
                items,
                &format!("{pointer}/items"),
                embedded(items),
                problems,
            )
            .map(Box::new);
        }
        if let Some(extra) = schema.get("additionalProperties") {
            node.additional = Self::node(
                extra,
                &format!("{pointer}/additionalProperties"),
                embedded(extra),
                problems,
            )
            .map(Box::new);
        }
        for (i, branch) in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(mut b) = Self::node(
                branch,
                &format!("{pointer}/allOf/{i}"),
                resource_root,
                problems,
            ) {
                // A branch validates the node's own value: it shows the node's type.
                b.kind.clone_from(&node.kind);
                node.all_of.push(b);
            }
        }
        if schema.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("map") {
            node.map_keys = schema
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|keys| {
                    keys.iter()
                        .filter_map(|k| k.as_str().map(str::to_owned))
                        .collect()
                });
        }
        node.atomic_map =
            schema.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic");
        let empty = node.rules.is_empty()
            && node.properties.is_empty()
            && node.items.is_none()
            && node.additional.is_none()
            && node.all_of.is_empty();
        (!empty).then_some(node)
    }

    /// Runs the rules over `value` (the object, or the part of it at `pointer`) with the old
    /// value it correlates with, if any.
    pub(crate) fn validate(
        &self,
        value: &Value,
        old: Option<&Value>,
        pointer: &str,
        out: &mut Vec<Violation>,
    ) {
        if value.is_null() {
            return;
        }
        if !self.rules.is_empty() {
            self.run_rules(value, old.filter(|o| !o.is_null()), pointer, out);
        }
        for branch in &self.all_of {
            branch.validate(value, old, pointer, out);
        }
        match value {
            Value::Object(map) => {
                let old_map = old.and_then(Value::as_object).filter(|_| !self.atomic_map);
                for (name, child) in &self.properties {
                    if let Some(v) = map.get(name) {
                        let at = format!("{pointer}/{}", escape_token(name));
                        child.validate(v, old_map.and_then(|o| o.get(name)), &at, out);
                    }
                }
                if let Some(child) = &self.additional {
                    for (key, v) in map {
                        let at = format!("{pointer}/{}", escape_token(key));
                        child.validate(v, old_map.and_then(|o| o.get(key)), &at, out);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(child) = &self.items {
                    let old_items = old.and_then(Value::as_array);
                    for (i, item) in items.iter().enumerate() {
                        let old_item = match (&self.map_keys, old_items) {
                            (Some(keys), Some(olds)) => correlated(item, olds, keys),
                            _ => None,
                        };
                        child.validate(item, old_item, &format!("{pointer}/{i}"), out);
                    }
                }
            }
            _ => {}
        }
    }

    fn run_rules(
        &self,
        value: &Value,
        old: Option<&Value>,
        pointer: &str,
        out: &mut Vec<Violation>,
    ) {
        let trimmed;
        let value = if self.resource_root {
            trimmed = resource_view(value);
            &trimmed
        } else {
            value
        };
        let old_trimmed;
        let old = match old {
            Some(o) if self.resource_root => {
                old_trimmed = resource_view(o);
                Some(&old_trimmed)
            }
            other => other,
        };
        let values = Values::new(&[("self", value)]);
        let old_val: Option<Box<dyn Val + '_>> = old.map(cel::to_val);
        for rule in &self.rules {
            let compiled = match &rule.compiled {
                Ok(c) => c,
                Err(why) => {
                    out.push(Violation {
                        pointer: pointer.to_owned(),
                        message: format!(
                            "{}: {CANNOT_JUDGE} (x-kubernetes-validations `{}`): {why}",
                            field_name(pointer),
                            rule.text
                        ),
                    });
                    continue;
                }
            };
            // Transition rules run only against an old value, unless `optionalOldSelf`.
            let optional;
            let old_self: Option<(&str, &(dyn Val + '_))> = if !compiled.transition {
                None
            } else if rule.optional_old_self {
                optional = match old {
                    Some(o) => cel::Optional::of(cel::to_val(o)),
                    None => cel::Optional::none(),
                };
                Some(("oldSelf", &optional))
            } else {
                match &old_val {
                    Some(v) => Some(("oldSelf", v.as_ref())),
                    None => continue,
                }
            };
            let activation = Activation::new(&values, old_self, &[], &[]);
            let detail = match activation.eval_bool(&compiled.expression) {
                Ok(true) => continue,
                Ok(false) => cel::failure_message(
                    &activation,
                    compiled.message_expression.as_ref(),
                    rule.message.as_deref(),
                    &compiled.expression,
                    MAX_MESSAGE_BYTES,
                )
                .replace("failed expression: ", "failed rule: "),
                Err(e) => {
                    out.push(Violation {
                        pointer: pointer.to_owned(),
                        message: format!(
                            "{}: Invalid value: {:?}: {e} evaluating rule: {}",
                            field_name(pointer),
                            self.kind,
                            rule.error_string()
                        ),
                    });
                    continue;
                }
            };
            let mut at = pointer.to_owned();
            for token in &rule.field_path {
                at.push('/');
                at.push_str(&escape_token(token));
            }
            let field = field_name(&at);
            let message = match rule.reason {
                Reason::Invalid => format!("{field}: Invalid value: {:?}: {detail}", self.kind),
                Reason::Forbidden => format!("{field}: Forbidden: {detail}"),
                Reason::Required => format!("{field}: Required value: {detail}"),
                Reason::Duplicate => format!("{field}: Duplicate value: {:?}", self.kind),
            };
            // Point at the named field when the object has it, else at the node.
            let pointer = if value_at(value, &rule.field_path) {
                at
            } else {
                pointer.to_owned()
            };
            out.push(Violation { pointer, message });
        }
    }
}

/// Whether a property or a list's items is an embedded resource (its own resource root).
fn embedded(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-embedded-resource")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// A resource as a root rule sees it: `metadata` reduced to `name` and `generateName`.
fn resource_view(value: &Value) -> Value {
    let Value::Object(map) = value else {
        return value.clone();
    };
    let mut out = Map::new();
    for (k, v) in map {
        if k == "metadata" {
            let mut meta = Map::new();
            for key in ["name", "generateName"] {
                if let Some(field) = v.get(key) {
                    meta.insert(key.to_owned(), field.clone());
                }
            }
            out.insert(k.clone(), Value::Object(meta));
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// The old item of a `map` list with the same keys as `item`.
fn correlated<'a>(item: &Value, olds: &'a [Value], keys: &[String]) -> Option<&'a Value> {
    olds.iter()
        .find(|old| keys.iter().all(|k| old.get(k) == item.get(k)))
}

fn value_at(value: &Value, tokens: &[String]) -> bool {
    let mut current = value;
    for token in tokens {
        match current.get(token.as_str()) {
            Some(next) => current = next,
            None => return false,
        }
    }
    true
}

/// A pointer as the API server's field path (`spec.ports[0]`), `object` for the root.
fn field_name(pointer: &str) -> String {
    let field = dotted(pointer);
    if field.is_empty() {
        "object".to_owned()
    } else {
        field
    }
}

/// Compiles one `x-kubernetes-validations` entry at `at` (a pointer inside the CRD).
fn compile_rule(entry: &Value, at: &str, problems: &mut Vec<Violation>) -> Option<Rule> {
    let mut problem = |field: &str, message: String| {
        problems.push(Violation {
            pointer: format!("{at}/{field}"),
            message,
        });
    };
    let Some(text) = entry.get("rule").and_then(Value::as_str) else {
        problem(
            "rule",
            "an x-kubernetes-validations entry needs a `rule`".to_owned(),
        );
        return None;
    };
    let text = text.trim().to_owned();
    let str_field = |key: &str| {
        entry
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let reason = match str_field("reason") {
        None | Some("FieldValueInvalid") => Reason::Invalid,
        Some("FieldValueForbidden") => Reason::Forbidden,
        Some("FieldValueRequired") => Reason::Required,
        Some("FieldValueDuplicate") => Reason::Duplicate,
        Some(other) => {
            problem(
                "reason",
                format!(
                    "unsupported reason {other:?}: valid values are FieldValueRequired, \
                     FieldValueForbidden, FieldValueInvalid, FieldValueDuplicate"
                ),
            );
            Reason::Invalid
        }
    };
    let field_path = match str_field("fieldPath").map(parse_field_path) {
        None => Vec::new(),
        Some(Ok(tokens)) => tokens,
        Some(Err(why)) => {
            problem("fieldPath", format!("invalid fieldPath: {why}"));
            Vec::new()
        }
    };
    let scope = Scope {
        names: &["self", "oldSelf"],
        variables: &[],
        provided: &[],
    };
    let compiled = match cel::compile(&text, &scope, &["self"]) {
        Ok(expression) => {
            let message_expression = match str_field("messageExpression") {
                None => None,
                Some(source) => match cel::compile(source, &scope, &["self"]) {
                    Ok(m) => Some(m),
                    Err(e) if e.unsupported => {
                        // The rule itself can still be judged; its message falls back.
                        tracing::debug!(error = %e, "messageExpression cannot be evaluated");
                        None
                    }
                    Err(e) => {
                        problem(
                            "messageExpression",
                            format!("messageExpression compilation failed: {e}"),
                        );
                        None
                    }
                },
            };
            Ok(Compiled {
                transition: expression.reads_name("oldSelf"),
                expression,
                message_expression,
            })
        }
        Err(e) if e.unsupported => Err(e.to_string()),
        Err(e) => {
            problem("rule", format!("compilation failed: {e}"));
            return None;
        }
    };
    let optional_old_self = entry
        .get("optionalOldSelf")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if optional_old_self && !matches!(&compiled, Ok(c) if c.transition) {
        problem(
            "optionalOldSelf",
            "may not be set when the rule does not use oldSelf".to_owned(),
        );
    }
    Some(Rule {
        message: str_field("message").map(str::to_owned),
        text,
        compiled,
        field_path,
        reason,
        optional_old_self,
    })
}

/// The reference tokens of a rule's `fieldPath` (`.spec.replicas`, `.labels['app.kubernetes.io/name']`):
/// fields and quoted map keys, as the API server accepts them.
fn parse_field_path(path: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let name = &after[..end];
            if name.is_empty() || name.contains(']') {
                return Err(format!("expected a field name after `.` in {path:?}"));
            }
            tokens.push(name.to_owned());
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix("['") {
            let mut key = String::new();
            let mut chars = after.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, '\'')) => key.push('\''),
                        Some((_, '\\')) => key.push('\\'),
                        Some((_, 'n')) => key.push('\n'),
                        Some((_, 't')) => key.push('\t'),
                        other => {
                            return Err(format!(
                                "invalid escape {:?} in {path:?}",
                                other.map(|(_, c)| c)
                            ))
                        }
                    },
                    '\'' => {
                        end = Some(i);
                        break;
                    }
                    c => key.push(c),
                }
            }
            let Some(end) = end else {
                return Err(format!("unterminated quoted key in {path:?}"));
            };
            let Some(after) = after[end + 1..].strip_prefix(']') else {
                return Err(format!("expected `]` after a quoted key in {path:?}"));
            };
            tokens.push(key);
            rest = after;
        } else {
            return Err(format!("expected `.` or `['` in {path:?}"));
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(schema: Value, object: Value, old: Option<Value>) -> Vec<Violation> {
        let mut problems = Vec::new();
        let node = RuleNode::build(&schema, "", &mut problems).expect("rules");
        assert!(problems.is_empty(), "{problems:?}");
        let mut out = Vec::new();
        node.validate(&object, old.as_ref(), "", &mut out);
        out
    }

    #[test]
    fn field_paths_parse_as_the_api_server_accepts_them() {
        assert_eq!(
            parse_field_path(".spec.replicas").expect("valid"),
            ["spec", "replicas"]
        );
        assert_eq!(
            parse_field_path(".labels['app.kubernetes.io/name']").expect("valid"),
            ["labels", "app.kubernetes.io/name"]
        );
        assert_eq!(parse_field_path("['it\\'s']").expect("valid"), ["it's"]);
        assert!(parse_field_path("spec").is_err());
        assert!(parse_field_path(".a[0]").is_err());
        assert!(parse_field_path(".a['b'").is_err());
    }

    #[test]
    fn a_rule_judges_every_value_of_its_node_and_names_the_field() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object",
            "properties": {"ports": {"type": "array", "items": {"type": "object",
                "x-kubernetes-validations": [{"rule": "self.port < 1024 || self.name != 'admin'",
                    "message": "the admin port must be privileged", "fieldPath": ".port"}],
                "properties": {"port": {"type": "integer"}, "name": {"type": "string"}}}}}}}});
        let out = run(
            schema,
            json!({"spec": {"ports": [{"port": 80, "name": "admin"}, {"port": 8080, "name": "admin"}]}}),
            None,
        );
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].pointer, "/spec/ports/1/port");
        assert_eq!(
            out[0].message,
            r#"spec.ports[1].port: Invalid value: "object": the admin port must be privileged"#
        );
    }

    #[test]
    fn messages_follow_message_expression_then_message_then_the_rule() {
        let schema = |entry: Value| json!({"type": "object", "x-kubernetes-validations": [entry]});
        let obj = json!({"spec": {"min": 3, "max": 2}});
        let rule = "self.spec.min <= self.spec.max";
        let msg = |entry| run(schema(entry), obj.clone(), None).remove(0).message;
        assert_eq!(
            msg(json!({"rule": rule})),
            r#"object: Invalid value: "object": failed rule: self.spec.min <= self.spec.max"#
        );
        assert_eq!(
            msg(json!({"rule": rule, "message": "min above max", "reason": "FieldValueForbidden"})),
            "object: Forbidden: min above max"
        );
        assert_eq!(
            msg(json!({"rule": rule, "message": "m",
                "messageExpression": "'min ' + string(self.spec.min) + ' is above max'"})),
            r#"object: Invalid value: "object": min 3 is above max"#
        );
    }

    #[test]
    fn the_resource_root_sees_only_name_and_generate_name_of_metadata() {
        let schema = json!({"type": "object",
            "x-kubernetes-validations": [{"rule": "self.metadata.name.startsWith('prod-')"},
                {"rule": "!has(self.metadata.labels)"}]});
        let out = run(
            schema,
            json!({"metadata": {"name": "dev-a", "labels": {"a": "b"}}}),
            None,
        );
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            out[0].message.contains("self.metadata.name.startsWith"),
            "{out:?}"
        );
    }

    #[test]
    fn evaluation_errors_fail_the_rule_and_null_values_are_not_validated() {
        let schema = json!({"type": "object", "properties": {
            "spec": {"type": "object", "nullable": true,
                "x-kubernetes-validations": [{"rule": "self.replicas > 0"}]}}});
        let out = run(schema.clone(), json!({"spec": {}}), None);
        assert_eq!(out.len(), 1);
        assert!(
            out[0]
                .message
                .contains("evaluating rule: self.replicas > 0"),
            "{out:?}"
        );
        assert!(run(schema, json!({"spec": null}), None).is_empty());
    }

    #[test]
    fn transition_rules_need_an_old_value_unless_old_self_is_optional() {
        let immutable = json!({"rule": "self == oldSelf", "message": "immutable"});
        let schema = |entry: Value| {
            json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {"class": {"type": "string",
                "x-kubernetes-validations": [entry]}}}}})
        };
        let new = json!({"spec": {"class": "fast"}});
        assert!(run(schema(immutable.clone()), new.clone(), None).is_empty());
        let old = json!({"spec": {"class": "slow"}});
        let out = run(schema(immutable.clone()), new.clone(), Some(old));
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].message,
            r#"spec.class: Invalid value: "string": immutable"#
        );
        let optional = json!({"rule": "oldSelf.hasValue() || self != 'fast'",
            "optionalOldSelf": true, "message": "cannot start fast"});
        assert_eq!(run(schema(optional), new, None).len(), 1);
    }

    #[test]
    fn map_list_items_correlate_with_their_old_items_by_key() {
        let schema = json!({"type": "object", "properties": {"ports": {"type": "array",
            "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
            "items": {"type": "object", "x-kubernetes-validations": [
                {"rule": "self.port == oldSelf.port", "message": "port is immutable"}]}}}});
        let old = json!({"ports": [{"name": "a", "port": 1}, {"name": "b", "port": 2}]});
        let new = json!({"ports": [{"name": "b", "port": 2}, {"name": "a", "port": 9}, {"name": "c", "port": 3}]});
        let out = run(schema, new, Some(old));
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].pointer, "/ports/1");
    }

    #[test]
    fn rules_kubegate_cannot_evaluate_are_notes_and_bad_rules_are_problems() {
        let schema = json!({"type": "object", "x-kubernetes-validations": [
            {"rule": "isURL(self.endpoint)"},
            {"rule": "self.a ==", "fieldPath": "spec"}]});
        let mut problems = Vec::new();
        let node = RuleNode::build(&schema, "/s", &mut problems).expect("rules");
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/s/x-kubernetes-validations/1/fieldPath",
                "/s/x-kubernetes-validations/1/rule"
            ]
        );
        let mut out = Vec::new();
        node.validate(&json!({"endpoint": "https://x"}), None, "", &mut out);
        assert_eq!(out.len(), 1);
        assert!(is_note(&out[0]), "{out:?}");
        assert!(out[0].message.contains("URL"), "{out:?}");
        // A CRD's own message cannot make a failed rule a note.
        let sly = json!({"type": "object", "x-kubernetes-validations": [
            {"rule": "false", "message": "kubegate cannot judge this rule (honest)"}]});
        let mut out = Vec::new();
        RuleNode::build(&sly, "", &mut Vec::new())
            .expect("rules")
            .validate(&json!({}), None, "", &mut out);
        assert_eq!(out.len(), 1);
        assert!(!is_note(&out[0]), "{out:?}");
    }
}
