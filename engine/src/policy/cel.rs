//! CEL expressions, as ValidatingAdmissionPolicies and Gatekeeper's `K8sNativeValidation`
//! engine write them (decision 18: the `cel` crate, with kubegate's own Kubernetes layer).
//!
//! An expression is parsed once, when its policy is loaded, and checked there: every name it
//! reads must be a variable the policy kind declares (or one a comprehension binds), a
//! `variables.x` must name a variable declared earlier, and a function of a Kubernetes CEL
//! library kubegate does not implement yet is refused with its name — never left to fail, or
//! worse to pass, at evaluation. The parsed tree is rewritten so that `variables.x` reads a
//! resolver slot: variables are evaluated lazily, at most once per object, as the API server
//! evaluates them.
//!
//! The object is converted to CEL values once per object ([`Values::new`]), borrowing its
//! strings, and shared by every policy that judges it.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use cel::common::ast::{EntryExpr, Expr as Node, IdedExpr, LiteralValue};
pub(crate) use cel::common::types::CelOptional as Optional;
use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString,
};
use cel::common::value::CowVal;
pub(crate) use cel::common::value::Val;
use cel::context::VariableResolver;
use cel::{Context, Env, Value};
use serde_json::Value as Json;

/// The longest expression accepted, as the API server's limit for a validation expression
/// (5 KiB for `expression` and `messageExpression`).
pub const MAX_EXPRESSION_BYTES: usize = 5 * 1024;

/// The prefix of the resolver slot a `variables.x` read is rewritten to. `@` cannot start a
/// name in CEL source, so no expression can spell it.
const VARIABLE_SLOT: &str = "@variables.";

/// The environment every expression is parsed and run in: the standard library and the
/// strings extension (`lowerAscii`, `split`, `join`, `replace`, `format`…), which the API
/// server's base environment includes.
pub(crate) fn env() -> &'static Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Env::stdlib();
        // Duplicate-key map literals: cel-go keeps the last entry (the API server runs cel-go).
        env.set_error_on_duplicate_map_keys(false);
        if let Err(e) = env.add_extension(cel::extensions::strings) {
            tracing::error!(error = %e, "the CEL strings extension could not be registered");
        }
        if let Err(e) = env.add_extension(super::cel_k8s::lists) {
            tracing::error!(error = %e, "the Kubernetes lists library could not be registered");
        }
        if let Err(e) = env.add_extension(super::cel_k8s::regex) {
            tracing::error!(error = %e, "the Kubernetes regex library could not be registered");
        }
        if let Err(e) = env.add_extension(super::cel_k8s::comprehensions) {
            tracing::error!(error = %e, "two-variable comprehensions could not be registered");
        }
        if let Err(e) = env.add_extension(super::cel_k8s::sets) {
            tracing::error!(error = %e, "the CEL sets extension could not be registered");
        }
        if let Err(e) = env.add_extension(super::cel_k8s_types::quantity) {
            tracing::error!(error = %e, "the Kubernetes quantity library could not be registered");
        }
        if let Err(e) = env.add_extension(super::cel_k8s_types::semver) {
            tracing::error!(error = %e, "the Kubernetes semver library could not be registered");
        }
        if let Err(e) = env.add_extension(super::cel_k8s_types::net) {
            tracing::error!(error = %e, "the Kubernetes IP and CIDR libraries could not be registered");
        }
        Arc::new(env)
    })
}

/// Functions of the Kubernetes CEL libraries (and CEL extensions the API server enables) that
/// kubegate does not implement yet: an expression calling one is refused at load, naming it.
const UNSUPPORTED_FUNCTIONS: &[(&str, &str)] = &[
    ("url", "the Kubernetes URL library"),
    ("isURL", "the Kubernetes URL library"),
    ("transformList", "two-variable comprehensions"),
    ("transformMap", "two-variable comprehensions"),
    ("transformMapEntry", "two-variable comprehensions"),
    ("timestamp", "CEL timestamps"),
    ("duration", "CEL durations"),
    ("getDate", "CEL timestamps"),
    ("getHours", "CEL timestamps"),
    ("jsonpatch.escapeKey", "the Kubernetes JSON patch library"),
];

/// The namespaced functions the environment has (`strings.quote` from the strings extension,
/// the sets extension, the IP library's `ip.isCanonical`); any other `ns.f(…)` is refused.
const NAMESPACED_FUNCTIONS: &[&str] = &[
    "strings.quote",
    "sets.contains",
    "sets.equivalent",
    "sets.intersects",
    "ip.isCanonical",
];

/// Names of CEL namespaces: `sets.contains(…)` parses as a call on the name `sets`.
const NAMESPACES: &[&str] = &[
    "sets",
    "cel",
    "ip",
    "jsonpatch",
    "format",
    "strings",
    "math",
];

/// What an expression may read: the variables its policy kind declares.
#[derive(Debug, Clone)]
pub(crate) struct Scope<'a> {
    /// Top-level names (`object`, `params`…).
    pub names: &'a [&'a str],
    /// Names of `variables.x` declared before this expression, in order.
    pub variables: &'a [String],
    /// Names of `variables.x` the engine provides itself (Gatekeeper's `anyObject`, `params`).
    pub provided: &'a [&'a str],
}

/// A parsed and checked expression.
#[derive(Debug)]
pub(crate) struct Expression {
    pub source: String,
    tree: IdedExpr,
    /// Paths under the root the positions come from (`object`, or Gatekeeper's
    /// `variables.anyObject`), in the order the expression reads them.
    reads: Vec<Vec<String>>,
    /// It reads `authorizer`, which only the API server has.
    pub needs_authorizer: bool,
    /// The `variables.x` it reads, in order.
    uses: Vec<String>,
    /// The top-level names it reads (`object`, `namespaceObject`…), its variables' included.
    names: Vec<String>,
}

/// Why an expression cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompileError {
    pub message: String,
    /// 1-based line and column inside the expression, when known.
    pub at: Option<(u32, u32)>,
    /// The expression is valid CEL but uses a library or construct kubegate does not implement
    /// (the API server would run it): the expression cannot be judged, which is not its fault.
    pub unsupported: bool,
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.at {
            Some((line, column)) => write!(
                f,
                "{} (line {line}, column {column} of the expression)",
                self.message
            ),
            None => f.write_str(&self.message),
        }
    }
}

fn fail(message: impl Into<String>) -> CompileError {
    CompileError {
        message: message.into(),
        at: None,
        unsupported: false,
    }
}

/// Parses `source` and checks it against `scope`; `root` names where positions come from
/// (`["object"]`, or `["variables", "anyObject"]`).
pub(crate) fn compile(
    source: &str,
    scope: &Scope<'_>,
    root: &[&str],
) -> Result<Expression, CompileError> {
    if source.len() > MAX_EXPRESSION_BYTES {
        return Err(fail(format!(
            "the expression is {} bytes, over the {MAX_EXPRESSION_BYTES}-byte limit",
            source.len()
        )));
    }
    if source.trim().is_empty() {
        return Err(fail("the expression is empty"));
    }
    let tree = env().parser().parse(source).map_err(|errors| {
        let first = errors.errors.first();
        CompileError {
            message: first
                .map(|e| {
                    let msg = e.msg.strip_prefix("Syntax error: ").unwrap_or(&e.msg);
                    format!("syntax error: {msg}")
                })
                .unwrap_or_else(|| "syntax error".to_owned()),
            at: first.and_then(|e| {
                let line = u32::try_from(e.pos.0).ok()?;
                let column = u32::try_from(e.pos.1).ok()?;
                Some((line.max(1), column + 1))
            }),
            unsupported: false,
        }
    })?;
    let mut checker = Checker {
        scope,
        bound: Vec::new(),
        error: None,
        needs_authorizer: false,
        uses: Vec::new(),
        names: Vec::new(),
    };
    let tree = checker.rewrite(tree);
    if let Some(e) = checker.error {
        return Err(e);
    }
    let mut reads = Vec::new();
    collect_reads(&tree, root, &mut reads);
    Ok(Expression {
        source: source.to_owned(),
        tree,
        reads,
        needs_authorizer: checker.needs_authorizer,
        uses: checker.uses,
        names: checker.names,
    })
}

struct Checker<'s, 'a> {
    scope: &'s Scope<'a>,
    /// Names comprehensions bind around the node being checked.
    bound: Vec<String>,
    error: Option<CompileError>,
    needs_authorizer: bool,
    uses: Vec<String>,
    names: Vec<String>,
}

/// `name` bound to `init` in `result`: a comprehension over no items whose accumulator is the
/// name, as cel-go expands `cel.bind` (`init` is evaluated once).
fn binding(id: u64, name: &str, init: IdedExpr, result: IdedExpr) -> IdedExpr {
    let node = |expr| IdedExpr { id, expr };
    node(Node::Comprehension(Box::new(
        cel::common::ast::ComprehensionExpr {
            iter_range: node(Node::List(cel::common::ast::ListExpr {
                elements: Vec::new(),
                optional_indices: Vec::new(),
            })),
            iter_var: "#unused".to_owned(),
            iter_var2: None,
            accu_var: name.to_owned(),
            accu_init: init,
            loop_cond: node(Node::Literal(LiteralValue::Boolean(CelBool::from(false)))),
            loop_step: node(Node::Ident(name.to_owned())),
            result,
        },
    )))
}

impl Checker<'_, '_> {
    fn refuse(&mut self, message: String) {
        if self.error.is_none() {
            self.error = Some(fail(message));
        }
    }

    /// Refuses valid CEL that kubegate does not implement.
    fn unsupported(&mut self, message: String) {
        if self.error.is_none() {
            self.error = Some(CompileError {
                unsupported: true,
                ..fail(message)
            });
        }
    }

    /// `cel.bind(x, init, body)` as the comprehension cel-go's bindings extension expands it
    /// to: no iterations, `x` the accumulator set to `init`, `body` the result, so `init` is
    /// evaluated once and `body` sees `x`.
    fn bind(&mut self, id: u64, call: cel::common::ast::CallExpr) -> IdedExpr {
        let mut args = call.args.into_iter();
        let (Some(var), Some(init), Some(body), None) =
            (args.next(), args.next(), args.next(), args.next())
        else {
            self.refuse("`cel.bind` takes a variable name, an initial value and a result".into());
            return IdedExpr {
                id,
                expr: Node::Literal(LiteralValue::Null),
            };
        };
        let Node::Ident(name) = var.expr else {
            self.refuse("the first argument of `cel.bind` must be a variable name".into());
            return IdedExpr {
                id,
                expr: Node::Literal(LiteralValue::Null),
            };
        };
        let init = self.rewrite(init);
        self.bound.push(name.clone());
        let body = self.rewrite(body);
        self.bound.pop();
        binding(id, &name, init, body)
    }

    /// A two-variable `all`, `exists` or `existsOne` (`m.all(k, v, p)`: key and value of a
    /// map, index and element of a list), expanded as the one-variable macro over the pairs
    /// [`super::cel_k8s::ENTRIES`] gives, each pair's parts bound to the two names.
    fn two_variables(&mut self, id: u64, call: cel::common::ast::CallExpr) -> IdedExpr {
        use cel::common::ast::{CallExpr, ComprehensionExpr};
        let node = |expr| IdedExpr { id, expr };
        let function = call.func_name.clone();
        let mut args = call.args.into_iter();
        let (Some(first), Some(second), Some(body), Some(target)) =
            (args.next(), args.next(), args.next(), call.target)
        else {
            return node(Node::Literal(LiteralValue::Null));
        };
        let (Node::Ident(k), Node::Ident(v)) = (first.expr, second.expr) else {
            self.refuse(format!(
                "the first two arguments of a two-variable `{function}` must be variable names"
            ));
            return node(Node::Literal(LiteralValue::Null));
        };
        let range = self.rewrite(*target);
        let depth = self.bound.len();
        self.bound.push(k.clone());
        self.bound.push(v.clone());
        let body = self.rewrite(body);
        self.bound.truncate(depth);
        let call = |name: &str, args: Vec<IdedExpr>| {
            node(Node::Call(CallExpr {
                func_name: name.to_owned(),
                target: None,
                args,
            }))
        };
        let boolean = |b: bool| node(Node::Literal(LiteralValue::Boolean(CelBool::from(b))));
        let int = |i: i64| node(Node::Literal(LiteralValue::Int(CelInt::from(i))));
        let ident = |n: &str| node(Node::Ident(n.to_owned()));
        let comprehension = |c: ComprehensionExpr| node(Node::Comprehension(Box::new(c)));
        let entry = "@entry";
        let part = |i: i64| call("_[_]", vec![ident(entry), int(i)]);
        let predicate = binding(id, &k, part(0), binding(id, &v, part(1), body));
        let result = "@result";
        let (init, cond, step, out) = match function.as_str() {
            "all" => (
                boolean(true),
                call("@not_strictly_false", vec![ident(result)]),
                call("_&&_", vec![ident(result), predicate]),
                ident(result),
            ),
            "exists" => (
                boolean(false),
                call("@not_strictly_false", vec![call("!_", vec![ident(result)])]),
                call("_||_", vec![ident(result), predicate]),
                ident(result),
            ),
            _ => (
                int(0),
                boolean(true),
                call(
                    "_?_:_",
                    vec![
                        predicate,
                        call("_+_", vec![ident(result), int(1)]),
                        ident(result),
                    ],
                ),
                call("_==_", vec![ident(result), int(1)]),
            ),
        };
        comprehension(ComprehensionExpr {
            iter_range: call(super::cel_k8s::ENTRIES, vec![range]),
            iter_var: entry.to_owned(),
            iter_var2: None,
            accu_var: result.to_owned(),
            accu_init: init,
            loop_cond: cond,
            loop_step: step,
            result: out,
        })
    }

    fn rewrite(&mut self, node: IdedExpr) -> IdedExpr {
        let id = node.id;
        let expr = match node.expr {
            Node::Select(mut select) => {
                if let Node::Ident(name) = &select.operand.expr {
                    if name == "variables" && !self.bound.iter().any(|b| b == "variables") {
                        return self.variable(id, &select.field, select.test);
                    }
                }
                select.operand = Box::new(self.rewrite(*select.operand));
                Node::Select(select)
            }
            Node::Ident(name) => {
                self.ident(&name);
                Node::Ident(name)
            }
            Node::Call(mut call) => {
                let namespaced = match call.target.as_deref().map(|t| &t.expr) {
                    Some(Node::Ident(ns))
                        if NAMESPACES.contains(&ns.as_str())
                            && !self.bound.iter().any(|b| b == ns)
                            && !self.scope.names.contains(&ns.as_str()) =>
                    {
                        Some(format!("{ns}.{}", call.func_name))
                    }
                    _ => None,
                };
                let name = namespaced.clone().unwrap_or_else(|| call.func_name.clone());
                if name == "cel.bind" {
                    return self.bind(id, call);
                }
                // `all`, `exists` and `existsOne` with two variables (`m.all(k, v, p)`).
                if call.target.is_some()
                    && call.args.len() == 3
                    && matches!(
                        call.func_name.as_str(),
                        "all" | "exists" | "existsOne" | "exists_one"
                    )
                {
                    return self.two_variables(id, call);
                }
                let library = UNSUPPORTED_FUNCTIONS
                    .iter()
                    .find(|(f, _)| *f == name)
                    .map(|(_, l)| *l)
                    .or_else(|| {
                        (namespaced.is_some() && !NAMESPACED_FUNCTIONS.contains(&name.as_str()))
                            .then_some("a CEL library kubegate does not implement")
                    });
                if let Some(library) = library {
                    self.unsupported(format!(
                        "`{name}` ({library}) is not supported by kubegate's CEL engine yet"
                    ));
                }
                if namespaced.is_none() {
                    call.target = call.target.map(|t| Box::new(self.rewrite(*t)));
                }
                call.args = call.args.into_iter().map(|a| self.rewrite(a)).collect();
                Node::Call(call)
            }
            Node::Comprehension(mut c) => {
                if c.iter_var2.is_some() {
                    self.unsupported(
                        "two-variable comprehensions are not supported by kubegate's CEL engine \
                         yet"
                        .to_owned(),
                    );
                }
                c.iter_range = self.rewrite(c.iter_range);
                c.accu_init = self.rewrite(c.accu_init);
                let depth = self.bound.len();
                self.bound.push(c.iter_var.clone());
                if let Some(v) = &c.iter_var2 {
                    self.bound.push(v.clone());
                }
                self.bound.push(c.accu_var.clone());
                c.loop_cond = self.rewrite(c.loop_cond);
                c.loop_step = self.rewrite(c.loop_step);
                c.result = self.rewrite(c.result);
                self.bound.truncate(depth);
                Node::Comprehension(c)
            }
            Node::List(mut list) => {
                list.elements = list.elements.into_iter().map(|e| self.rewrite(e)).collect();
                Node::List(list)
            }
            Node::Map(mut map) => {
                for entry in &mut map.entries {
                    self.rewrite_entry(&mut entry.expr);
                }
                Node::Map(map)
            }
            Node::Struct(mut s) => {
                for entry in &mut s.entries {
                    self.rewrite_entry(&mut entry.expr);
                }
                Node::Struct(s)
            }
            other => other,
        };
        IdedExpr { id, expr }
    }

    fn rewrite_entry(&mut self, entry: &mut EntryExpr) {
        match entry {
            EntryExpr::StructField(field) => {
                field.value = self.rewrite(std::mem::take(&mut field.value));
            }
            EntryExpr::MapEntry(e) => {
                e.key = self.rewrite(std::mem::take(&mut e.key));
                e.value = self.rewrite(std::mem::take(&mut e.value));
            }
        }
    }

    fn ident(&mut self, name: &str) {
        if name.starts_with('@') || self.bound.iter().any(|b| b == name) {
            return;
        }
        if name == "authorizer" {
            self.needs_authorizer = true;
        }
        if self.scope.names.contains(&name) {
            if !self.names.iter().any(|n| n == name) {
                self.names.push(name.to_owned());
            }
            return;
        }
        if name == "variables" {
            self.unsupported(
                "`variables` is read as a whole: kubegate supports `variables.<name>` only"
                    .to_owned(),
            );
            return;
        }
        let mut known: Vec<&str> = self.scope.names.to_vec();
        known.push("variables");
        self.refuse(format!(
            "undeclared reference to `{name}` (declared: {})",
            known.join(", ")
        ));
    }

    fn variable(&mut self, id: u64, name: &str, test: bool) -> IdedExpr {
        let declared =
            self.scope.variables.iter().any(|v| v == name) || self.scope.provided.contains(&name);
        if !declared {
            let mut known: Vec<&str> = self.scope.provided.to_vec();
            known.extend(self.scope.variables.iter().map(String::as_str));
            self.refuse(format!(
                "`variables.{name}` is not declared before this expression (declared: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ));
        }
        if !self.uses.iter().any(|u| u == name) {
            self.uses.push(name.to_owned());
        }
        if test {
            // `has(variables.x)` on a declared variable: it is always there.
            return IdedExpr {
                id,
                expr: Node::Literal(LiteralValue::Boolean(CelBool::from(declared))),
            };
        }
        IdedExpr {
            id,
            expr: Node::Ident(format!("{VARIABLE_SLOT}{name}")),
        }
    }
}

/// The field paths under `root` the tree selects (`object.spec.replicas` → `spec/replicas`),
/// outermost selections only, in source order.
fn collect_reads(node: &IdedExpr, root: &[&str], out: &mut Vec<Vec<String>>) {
    if let Some(path) = selection(node, root) {
        if !path.is_empty() && !out.contains(&path) {
            out.push(path);
        }
        return;
    }
    match &node.expr {
        Node::Select(s) => collect_reads(&s.operand, root, out),
        Node::Call(c) => {
            if let Some(t) = &c.target {
                collect_reads(t, root, out);
            }
            for a in &c.args {
                collect_reads(a, root, out);
            }
        }
        Node::Comprehension(c) => {
            for n in [
                &c.iter_range,
                &c.accu_init,
                &c.loop_cond,
                &c.loop_step,
                &c.result,
            ] {
                collect_reads(n, root, out);
            }
        }
        Node::List(l) => {
            for e in &l.elements {
                collect_reads(e, root, out);
            }
        }
        Node::Map(m) => {
            for e in &m.entries {
                if let EntryExpr::MapEntry(e) = &e.expr {
                    collect_reads(&e.key, root, out);
                    collect_reads(&e.value, root, out);
                }
            }
        }
        _ => {}
    }
}

/// `node` as a path under `root` when it is a chain of selections (and string or integer
/// indexes) starting there.
fn selection(node: &IdedExpr, root: &[&str]) -> Option<Vec<String>> {
    match &node.expr {
        Node::Ident(name) => {
            let joined = match root {
                [one] => (*one).to_owned(),
                [first, second] if *first == "variables" => format!("{VARIABLE_SLOT}{second}"),
                _ => return None,
            };
            (*name == joined).then(Vec::new)
        }
        Node::Select(s) => {
            let mut path = selection(&s.operand, root)?;
            path.push(s.field.clone());
            Some(path)
        }
        Node::Call(c) if c.func_name == "_[_]" && c.target.is_none() && c.args.len() == 2 => {
            let mut path = selection(&c.args[0], root)?;
            match &c.args[1].expr {
                Node::Literal(LiteralValue::String(s)) => path.push(s.to_string()),
                Node::Literal(LiteralValue::Int(i)) => path.push(i.inner().to_string()),
                _ => return None,
            }
            Some(path)
        }
        _ => None,
    }
}

impl Expression {
    /// Whether it reads the top-level name `name` (through its variables too).
    pub(crate) fn reads_name(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// Takes on, after its own, the fields the variables it reads read (themselves compiled
    /// and having taken on theirs): a validation over `variables.containers` points where
    /// that variable reads.
    pub(crate) fn inherit_reads(&mut self, variables: &[Variable]) {
        for name in &self.uses {
            if let Some(v) = variables.iter().find(|v| v.name == *name) {
                for path in &v.expression.reads {
                    if !self.reads.contains(path) {
                        self.reads.push(path.clone());
                    }
                }
                self.needs_authorizer |= v.expression.needs_authorizer;
                for n in &v.expression.names {
                    if !self.names.contains(n) {
                        self.names.push(n.clone());
                    }
                }
            }
        }
    }

    /// The first path it reads that exists in `object`, as a JSON pointer; `""` when none does.
    pub(crate) fn position_in(&self, object: &Json) -> String {
        self.reads
            .iter()
            .find_map(|path| {
                let pointer: String = path
                    .iter()
                    .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
                    .collect();
                object.pointer(&pointer).is_some().then_some(pointer)
            })
            .unwrap_or_default()
    }
}

/// A JSON value as a CEL value, borrowing its strings. JSON numbers are `int` when they are
/// whole and fit, `double` otherwise.
pub(crate) fn to_val(value: &Json) -> Box<dyn Val + '_> {
    match value {
        Json::Null => Box::new(CelNull),
        Json::Bool(b) => Box::new(CelBool::from(*b)),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Box::new(CelInt::from(i)),
            None => Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN))),
        },
        Json::String(s) => Box::new(CelString::from(s.as_str())),
        Json::Array(items) => Box::new(CelList::from(
            items.iter().map(to_val).collect::<Vec<Box<dyn Val + '_>>>(),
        )),
        Json::Object(map) => Box::new(CelMap::from(
            map.iter()
                .map(|(k, v)| (CelMapKey::from(k.as_str()), to_val(v)))
                .collect::<HashMap<CelMapKey<'_>, Box<dyn Val + '_>>>(),
        )),
    }
}

/// A compiled `variables` entry.
#[derive(Debug)]
pub(crate) struct Variable {
    pub name: String,
    pub expression: Expression,
}

/// What expressions of one policy evaluation see: the values converted once per object
/// (`base`), the policy's params, and its variables, evaluated on first use.
pub(crate) struct Activation<'a> {
    base: &'a [(&'a str, Box<dyn Val + 'a>)],
    params: Option<(&'a str, &'a (dyn Val + 'a))>,
    provided: &'a [(&'a str, &'a (dyn Val + 'a))],
    variables: &'a [Variable],
    cache: Vec<OnceLock<Result<Box<dyn Val + 'a>, String>>>,
}

impl std::fmt::Debug for Activation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Activation")
            .field("variables", &self.variables.len())
            .finish_non_exhaustive()
    }
}

/// CEL `null`, to bind where a value is absent.
pub(crate) static NULL: CelNull = CelNull;

/// Values converted once per object and shared by every policy judging it, with the JSON they
/// came from.
pub(crate) struct Values<'a> {
    vals: Vec<(&'a str, Box<dyn Val + 'a>)>,
    json: Vec<(&'a str, &'a Json)>,
}

impl std::fmt::Debug for Values<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.vals.iter().map(|(n, _)| *n).collect();
        f.debug_struct("Values").field("names", &names).finish()
    }
}

impl<'a> Values<'a> {
    /// `named` JSON values bound under their names (`object`, `request`…).
    pub(crate) fn new(named: &[(&'a str, &'a Json)]) -> Self {
        Self {
            vals: named.iter().map(|(n, v)| (*n, to_val(v))).collect(),
            json: named.to_vec(),
        }
    }

    /// The value bound to `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&(dyn Val + 'a)> {
        self.vals
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_ref())
    }

    /// The JSON bound to `name`.
    pub(crate) fn json(&self, name: &str) -> Option<&'a Json> {
        self.json.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// Whether `name` is bound to null (or not bound).
    pub(crate) fn is_null(&self, name: &str) -> bool {
        self.json(name).is_none_or(Json::is_null)
    }
}

impl<'a> Activation<'a> {
    pub(crate) fn new(
        base: &'a Values<'a>,
        params: Option<(&'a str, &'a (dyn Val + 'a))>,
        provided: &'a [(&'a str, &'a (dyn Val + 'a))],
        variables: &'a [Variable],
    ) -> Self {
        Self {
            base: &base.vals,
            params,
            provided,
            variables,
            cache: variables.iter().map(|_| OnceLock::new()).collect(),
        }
    }

    /// Evaluates `expression`; an error is the message a person reads.
    pub(crate) fn eval(&self, expression: &Expression) -> Result<Value, String> {
        let mut context = Context::with_env(Arc::clone(env()));
        context.set_variable_resolver(self);
        Value::resolve(&expression.tree, &context).map_err(|e| {
            let message = e.to_string();
            // A read of a variable whose own evaluation failed: say why it failed.
            for (i, v) in self.variables.iter().enumerate() {
                if let Some(Err(why)) = self.cache[i].get() {
                    if message.contains(&format!("{VARIABLE_SLOT}{}", v.name)) {
                        return format!("variables.{}: {why}", v.name);
                    }
                }
            }
            message.replace(VARIABLE_SLOT, "variables.")
        })
    }

    /// Evaluates `expression`, which must give a bool.
    pub(crate) fn eval_bool(&self, expression: &Expression) -> Result<bool, String> {
        match self.eval(expression)? {
            Value::Bool(b) => Ok(b),
            other => Err(format!(
                "the expression gave {}, not a bool",
                type_name(&other)
            )),
        }
    }
}

/// The CEL type name of a value, for messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::List(_) => "a list",
        Value::Map(_) => "a map",
        Value::Int(_) => "an int",
        Value::UInt(_) => "a uint",
        Value::Float(_) => "a double",
        Value::String(_) => "a string",
        Value::Bytes(_) => "bytes",
        Value::Bool(_) => "a bool",
        Value::Null => "null",
        _ => "a value of another type",
    }
}

impl VariableResolver for Activation<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        if let Some(name) = variable.strip_prefix(VARIABLE_SLOT) {
            if let Some((_, v)) = self.provided.iter().find(|(n, _)| *n == name) {
                return Some(CowVal::Borrowed(*v));
            }
            let i = self.variables.iter().position(|v| v.name == name)?;
            let slot = self.cache[i].get_or_init(|| {
                let value = self.eval(&self.variables[i].expression)?;
                Box::<dyn Val>::try_from(value).map_err(|e| e.to_string())
            });
            return match slot {
                Ok(v) => Some(CowVal::Borrowed(v.as_ref())),
                Err(_) => None,
            };
        }
        if let Some((name, v)) = self.params {
            if name == variable {
                return Some(CowVal::Borrowed(v));
            }
        }
        self.base
            .iter()
            .find(|(n, _)| *n == variable)
            .map(|(_, v)| CowVal::Borrowed(v.as_ref()))
    }
}

/// The message of a failed validation, as the API server chooses it: the `messageExpression`'s
/// string when it evaluates to one that is non-empty, on one line and at most `max_len` bytes;
/// else `message`; else `failed expression: <expression>`. A messageExpression that fails is
/// logged at debug level and falls back.
pub(crate) fn failure_message(
    activation: &Activation<'_>,
    message_expression: Option<&Expression>,
    message: Option<&str>,
    expression: &Expression,
    max_len: usize,
) -> String {
    message_expression
        .and_then(|m| match activation.eval(m) {
            Ok(value) => string_of(&value)
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty() && !s.contains('\n') && s.len() <= max_len),
            Err(e) => {
                tracing::debug!(error = %e, "messageExpression failed; the message is used");
                None
            }
        })
        .or_else(|| message.map(|m| m.trim().to_owned()))
        .unwrap_or_else(|| format!("failed expression: {}", expression.source.trim()))
}

/// A string literal's text (for messages).
pub(crate) fn string_of(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(s) => Some(Cow::Borrowed(s.as_str())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: &[&str] = &["object", "oldObject", "request", "params"];

    fn scope<'a>(variables: &'a [String]) -> Scope<'a> {
        Scope {
            names: NAMES,
            variables,
            provided: &[],
        }
    }

    /// `all`, `exists` and `existsOne` with two variables: a map's keys and values, a list's
    /// indexes and elements, as cel-go's two-variable comprehensions bind them.
    #[test]
    fn two_variable_comprehensions_bind_keys_and_values() {
        let object = serde_json::json!({
            "metadata": {"labels": {"app": "web", "team": "shop"}},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        let values = Values::new(&[("object", &object)]);
        let activation = Activation::new(&values, None, &[], &[]);
        let eval = |src: &str| {
            let e = compile(src, &scope(&[]), &["object"]).map_err(|e| e.to_string())?;
            activation.eval(&e)
        };
        for (src, want) in [
            (
                "object.metadata.labels.all(k, v, k.size() < 64 && v.size() < 64)",
                true,
            ),
            ("object.metadata.labels.all(k, v, v != 'web')", false),
            (
                "object.metadata.labels.exists(k, v, k == 'team' && v == 'shop')",
                true,
            ),
            ("object.metadata.labels.exists(k, v, k == v)", false),
            (
                "object.spec.containers.exists(i, c, i == 1 && c.name == 'b')",
                true,
            ),
            ("object.spec.containers.all(i, c, i < 2)", true),
            (
                "object.spec.containers.existsOne(i, c, c.name.startsWith('a'))",
                true,
            ),
            ("[1, 2, 3].exists_one(i, v, v > 1)", false),
            (
                "object.metadata.labels.all(k, v, [1, 2].all(i, x, x > i))",
                true,
            ),
            ("{}.all(k, v, false)", true),
        ] {
            assert_eq!(eval(src), Ok(Value::Bool(want)), "{src}");
        }
        // The names are in scope in the predicate only.
        assert!(eval("[1].all(i, v, true) && v == 1")
            .expect_err("v")
            .contains("undeclared reference to `v`"));
        assert!(eval("object.metadata.name.all(i, v, true)").is_err());
    }

    /// `cel.bind` binds its variable once, for its result only, as cel-go's bindings extension.
    #[test]
    fn cel_bind_binds_a_variable_for_its_result() {
        let object = serde_json::json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        let values = Values::new(&[("object", &object)]);
        let activation = Activation::new(&values, None, &[], &[]);
        let eval = |src: &str| {
            let e = compile(src, &scope(&[]), &["object"]).map_err(|e| e.to_string())?;
            activation.eval(&e)
        };
        assert_eq!(
            eval("cel.bind(cs, object.spec.containers, cs.size() == 2 && cs[1].name == 'b')"),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            eval("cel.bind(a, 1, cel.bind(b, a + 1, [a, b])) == [1, 2]"),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            eval("cel.bind(names, object.spec.containers.map(c, c.name), names.join(','))"),
            Ok(Value::String(std::sync::Arc::new("a,b".to_owned())))
        );
        // The variable is not in scope outside the result.
        assert!(eval("cel.bind(x, 1, x) + x == 2")
            .expect_err("x")
            .contains("undeclared reference to `x`"));
        assert!(eval("cel.bind('x', 1, 2) == 2").is_err());
    }

    #[test]
    fn reads_the_object_and_lazy_variables() {
        let object = serde_json::json!({"spec": {"replicas": 7, "containers": [{"name": "a"}]},
            "metadata": {"labels": {"app.kubernetes.io/name": "x"}}});
        let names = vec!["big".to_owned()];
        let variables = vec![Variable {
            name: "big".into(),
            expression: compile("object.spec.replicas > 5", &scope(&[]), &["object"])
                .expect("compiles"),
        }];
        let values = Values::new(&[("object", &object)]);
        let activation = Activation::new(&values, None, &[], &variables);
        let e = compile(
            "variables.big && 'app.kubernetes.io/name' in object.metadata.labels",
            &scope(&names),
            &["object"],
        )
        .expect("compiles");
        assert_eq!(activation.eval_bool(&e), Ok(true));
        let e = compile(
            "object.spec.containers.all(c, c.name == 'b')",
            &scope(&[]),
            &["object"],
        )
        .expect("compiles");
        assert_eq!(activation.eval_bool(&e), Ok(false));
        assert_eq!(e.position_in(&object), "/spec/containers");
    }

    #[test]
    fn refuses_what_it_cannot_judge() {
        let err = |s: &str| {
            compile(s, &scope(&[]), &["object"])
                .expect_err("refused")
                .message
        };
        assert!(err("objekt.spec").contains("undeclared reference to `objekt`"));
        assert!(err("variables.later == 1").contains("not declared before"));
        assert!(err("isURL(object.x)").contains("URL"));
        assert!(err("{'a': 1}.transformList(k, v, k)").contains("two-variable"));
        assert!(err("object.spec.replicas >").starts_with("syntax error"));
        // A comprehension's own variable is in scope inside it only.
        assert!(compile("[1].all(x, x > 0)", &scope(&[]), &["object"]).is_ok());
        assert!(err("[1].all(x, x > 0) && x == 1").contains("`x`"));
    }

    /// The Kubernetes lists library, with the API server's answers (library/lists.go):
    /// `min`/`max` of an empty list and mixed-type lists are errors.
    #[test]
    fn the_kubernetes_lists_library() {
        let object = serde_json::json!({"spec": {"ports": [80, 443, 8080], "names": ["b", "a"]}});
        let values = Values::new(&[("object", &object)]);
        let activation = Activation::new(&values, None, &[], &[]);
        let eval = |s: &str| {
            let e = compile(s, &scope(&[]), &["object"]).expect("compiles");
            activation.eval(&e)
        };
        let yes = |s: &str| assert_eq!(eval(s), Ok(Value::Bool(true)), "{s}");
        yes("object.spec.ports.isSorted()");
        yes("!object.spec.names.isSorted()");
        yes("[1, 1, 2].isSorted() && [].isSorted()");
        yes("object.spec.ports.sum() == 8603");
        yes("[].sum() == 0 && [1.5, 2.0].sum() == 3.5");
        yes("object.spec.ports.min() == 80 && object.spec.ports.max() == 8080");
        yes("object.spec.names.min() == 'a' && object.spec.names.max() == 'b'");
        yes("object.spec.ports.indexOf(443) == 1 && object.spec.ports.indexOf(1) == -1");
        yes("[1, 2, 1].lastIndexOf(1) == 2 && [1, 2, 1].indexOf(1) == 0");
        let err = |s: &str| eval(s).expect_err(s);
        assert!(err("[].min() == 0").contains("min called on empty list"));
        assert!(err("[1, 'a'].max() == 1").contains("one type"));
        assert!(err("['a', 'b'].sum() == 'ab'").contains("cannot be summed"));
        // The regex library.
        yes("'abc 123 def 456'.find('[0-9]+') == '123' && 'abc'.find('[0-9]+') == ''");
        yes("'abc 123 def 456'.findAll('[0-9]+') == ['123', '456']");
        yes("'a1b2c3'.findAll('[0-9]', 2) == ['1', '2'] && 'a1'.findAll('[0-9]', 0) == []");
        yes("'a1b2'.findAll('[0-9]', -1).size() == 2");
        assert!(err("'a'.find('(') == ''").contains("invalid regex"));
    }
}
