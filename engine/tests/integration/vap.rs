//! ValidatingAdmissionPolicy semantics, case by case, on policies written here from the
//! Kubernetes documentation (the admission plugin's rules: matching, params, matchConditions,
//! failurePolicy). testdata/vap holds the end-to-end fixture the CLI snapshots.

use kubegate_engine::{Checker, Input, Loader, PolicyOptions, PolicySet};
use std::sync::Arc;

const DEPLOYMENTS: &str = r#"
  matchConstraints:
    resourceRules:
    - apiGroups: ["apps"]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["deployments"]
"#;

fn policy(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n\
         metadata:\n  name: {name}\nspec:\n{spec}\n---\n"
    )
}

fn binding(name: &str, policy: &str, spec: &str) -> String {
    format!(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\n\
         metadata:\n  name: {name}\nspec:\n  policyName: {policy}\n{spec}\n---\n"
    )
}

fn deployment(name: &str, namespace: &str, replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: \
         {namespace}\nspec:\n  replicas: {replicas}\n---\n"
    )
}

/// `(rule id, object name, advisory, message)` of every finding the policies give.
fn judge(policies: &str, objects: &str) -> Vec<(String, String, bool, String)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy_file = dir.path().join("policies.yaml");
    std::fs::write(&policy_file, policies).expect("write");
    let objects_file = dir.path().join("objects.yaml");
    std::fs::write(&objects_file, objects).expect("write");
    let set = PolicySet::load(&[policy_file], &PolicyOptions::default()).expect("policies load");
    let skip = ["KG005".to_owned(), "KG006".to_owned()];
    let report = Checker::builtin_selection(&["kubegate".into()], &[], &skip, Default::default())
        .expect("checker")
        .with_policies(Arc::new(set))
        .check(&Loader::default().load(&[Input::Path(objects_file)]));
    report
        .findings
        .iter()
        .filter(|f| f.policy.is_some())
        .map(|f| {
            (
                f.rule_id.to_string(),
                f.object.name.clone().unwrap_or_default(),
                f.advisory,
                f.message.clone(),
            )
        })
        .collect()
}

fn load_error(policies: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("policies.yaml");
    std::fs::write(&file, policies).expect("write");
    let errors = PolicySet::load(&[file], &PolicyOptions::default()).expect_err("refused");
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

fn row(id: &str, object: &str, advisory: bool, message: &str) -> (String, String, bool, String) {
    (id.into(), object.into(), advisory, message.into())
}

const MAX3: &str = "  validations:\n  - expression: object.spec.replicas <= 3\n";

/// Resource rules match the kind's plural, `*`, and `*/*`; a rule for another resource, an
/// excluded resource, an operation other than CREATE, or a resourceName that is not the
/// object's, does not match.
#[test]
fn resource_rules_match_as_the_api_server_matches_them() {
    let rules = |rule: &str| {
        let spec = format!("  matchConstraints:\n    resourceRules:\n    - {rule}\n{MAX3}");
        let text = policy("p", &spec) + &binding("b", "p", "  validationActions: [Deny]");
        judge(&text, &deployment("big", "default", 5)).len()
    };
    let all = r#"{apiGroups: ["*"], apiVersions: ["*"], operations: ["*"]"#;
    assert_eq!(rules(&format!("{all}, resources: [\"deployments\"]}}")), 1);
    assert_eq!(rules(&format!("{all}, resources: [\"*\"]}}")), 1);
    assert_eq!(rules(&format!("{all}, resources: [\"*/*\"]}}")), 1);
    assert_eq!(rules(&format!("{all}, resources: [\"statefulsets\"]}}")), 0);
    assert_eq!(
        rules(&format!("{all}, resources: [\"deployments/scale\"]}}")),
        0
    );
    assert_eq!(
        rules(
            r#"{apiGroups: ["apps"], apiVersions: ["v1"], operations: ["UPDATE"], resources: ["deployments"]}"#
        ),
        0
    );
    assert_eq!(
        rules(
            r#"{apiGroups: [""], apiVersions: ["*"], operations: ["*"], resources: ["deployments"]}"#
        ),
        0
    );
    assert_eq!(
        rules(&format!(
            "{all}, resources: [\"*\"], resourceNames: [\"other\"]}}"
        )),
        0
    );
    assert_eq!(
        rules(&format!(
            "{all}, resources: [\"*\"], resourceNames: [\"big\"]}}"
        )),
        1
    );
    assert_eq!(
        rules(&format!("{all}, resources: [\"*\"], scope: Cluster}}")),
        0
    );
    assert_eq!(
        rules(&format!("{all}, resources: [\"*\"], scope: Namespaced}}")),
        1
    );
}

/// A binding's namespaceSelector needs the namespace's labels: with its Namespace in the input
/// it matches or not; without it, kubegate says it cannot judge instead of passing.
#[test]
fn a_namespace_selector_without_the_namespace_is_said_not_to_be_judged() {
    let spec = format!("{DEPLOYMENTS}{MAX3}");
    let text = policy("p", &spec)
        + &binding(
            "b",
            "p",
            "  validationActions: [Deny]\n  matchResources:\n    namespaceSelector:\n      matchLabels: {env: prod}",
        );
    let prod =
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n  labels: {env: prod}\n---\n";
    let found = judge(
        &text,
        &format!(
            "{prod}{}{}",
            deployment("a", "prod", 5),
            deployment("b", "gone", 5)
        ),
    );
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].1, "a");
    assert!(!found[0].2);
    assert_eq!(found[1].1, "b");
    assert!(found[1].2, "advisory");
    assert!(found[1]
        .3
        .starts_with("cannot be judged: namespace \"gone\" is not in the input"));
}

/// Every Namespace carries `kubernetes.io/metadata.name` (the API server sets it): a selector on
/// that label alone is decided from the name, with or without the Namespace object, and a
/// Namespace object without the label still has it.
#[test]
fn the_namespace_name_label_needs_no_namespace_object() {
    let spec = format!("{DEPLOYMENTS}{MAX3}");
    let text = policy("p", &spec)
        + &binding(
            "b",
            "p",
            "  validationActions: [Deny]\n  matchResources:\n    namespaceSelector:\n      matchLabels: {kubernetes.io/metadata.name: default}",
        );
    let default = "apiVersion: v1\nkind: Namespace\nmetadata: {name: default}\n---\n";
    let found = judge(
        &text,
        &format!(
            "{}{}",
            deployment("a", "default", 5),
            deployment("b", "other", 5)
        ),
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].1.as_str(), found[0].2), ("a", false));
    let found = judge(
        &text,
        &format!("{default}{}", deployment("a", "default", 5)),
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].1.as_str(), found[0].2), ("a", false));
}

/// A custom kind's resource is its CRD's plural, else guessed as CRD generators pluralise
/// (`Gateway` → `gateways`).
#[test]
fn custom_kinds_match_by_their_plural() {
    let spec = "  matchConstraints:\n    resourceRules:\n    - {apiGroups: [gateway.networking.k8s.io], apiVersions: [v1], operations: [CREATE], resources: [gateways]}\n  validations:\n  - expression: has(object.spec.addresses)\n";
    let text = policy("p", spec) + &binding("b", "p", "  validationActions: [Deny]");
    let gateway = "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: default}\nspec: {gatewayClassName: x}\n";
    let found = judge(&text, gateway);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, "gw");
}

/// matchConditions: any false skips; an error with failurePolicy Fail is a denial, with Ignore
/// an advisory that says the API server would admit.
#[test]
fn match_conditions_and_failure_policy() {
    let conditions = |failure: &str, condition: &str| {
        let spec = format!(
            "  failurePolicy: {failure}\n{DEPLOYMENTS}  matchConditions:\n  - name: c\n    \
             expression: \"{condition}\"\n{MAX3}"
        );
        let text = policy("p", &spec) + &binding("b", "p", "  validationActions: [Deny]");
        judge(&text, &deployment("big", "default", 5))
    };
    assert_eq!(conditions("Fail", "true").len(), 1);
    assert!(conditions("Fail", "object.metadata.name == 'other'").is_empty());
    let denied = conditions("Fail", "object.spec.nope > 1");
    assert_eq!(denied.len(), 1);
    assert!(!denied[0].2);
    assert!(
        denied[0]
            .3
            .contains("matchCondition 'c': expression 'object.spec.nope > 1' resulted in error"),
        "{denied:?}"
    );
    assert!(conditions("Ignore", "object.spec.nope > 1").is_empty());
    // A validation's error under Ignore: said, advisory.
    let spec = format!("  failurePolicy: Ignore\n{DEPLOYMENTS}  validations:\n  - expression: object.spec.nope > 1\n");
    let text = policy("p", &spec) + &binding("b", "p", "  validationActions: [Deny]");
    let found = judge(&text, &deployment("big", "default", 5));
    assert_eq!(found.len(), 1);
    assert!(found[0].2);
    assert!(found[0].3.starts_with("cannot be judged (failurePolicy: Ignore): expression 'object.spec.nope > 1' resulted in error"), "{found:?}");
}

/// Params: by name; by selector, each selected object judged (all must pass); none found is a
/// denial with `Deny` and nothing with `Allow`.
#[test]
fn params_by_name_and_selector_and_the_not_found_action() {
    let spec = format!(
        "  paramKind: {{apiVersion: example.com/v1, kind: Limit}}\n{DEPLOYMENTS}  validations:\n  \
         - expression: object.spec.replicas <= params.max\n    messageExpression: \"'over ' + string(params.max)\"\n"
    );
    let limit = |name: &str, max: u32, tier: &str| {
        format!("apiVersion: example.com/v1\nkind: Limit\nmetadata:\n  name: {name}\n  labels: {{tier: {tier}}}\nmax: {max}\n---\n")
    };
    let params = limit("three", 3, "a") + &limit("four", 4, "a") + &limit("ten", 10, "b");
    let by = |param_ref: &str| {
        let text = policy("p", &spec)
            + &binding(
                "b",
                "p",
                &format!("  validationActions: [Deny]\n  paramRef: {param_ref}"),
            )
            + &params;
        judge(&text, &deployment("big", "default", 5))
            .into_iter()
            .map(|f| f.3)
            .collect::<Vec<_>>()
    };
    let denied =
        |m: &str| format!("ValidatingAdmissionPolicy 'p' with binding 'b' denied request: {m}");
    assert_eq!(
        by("{name: three, parameterNotFoundAction: Deny}"),
        [denied("over 3")]
    );
    assert!(by("{name: ten, parameterNotFoundAction: Deny}").is_empty());
    assert_eq!(
        by("{selector: {matchLabels: {tier: a}}, parameterNotFoundAction: Deny}"),
        [denied("over 3"), denied("over 4")]
    );
    assert_eq!(
        by("{name: nine, parameterNotFoundAction: Deny}"),
        [denied("failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction")]
    );
    assert!(by("{name: nine, parameterNotFoundAction: Allow}").is_empty());
}

/// Messages: a messageExpression's string (trimmed) when it gives one, else the message, else
/// `failed expression: …`; Warn is worded as the API server's warning.
#[test]
fn messages_and_actions_are_worded_as_the_api_server_words_them() {
    let spec = format!(
        "{DEPLOYMENTS}  validations:\n  - expression: object.spec.replicas <= 3\n    \
         messageExpression: \"''\"\n    message: \"  too many  \"\n  - expression: object.spec.replicas <= 2\n"
    );
    let text = policy("p", &spec) + &binding("w", "p", "  validationActions: [Warn]");
    let found = judge(&text, &deployment("big", "default", 5));
    assert_eq!(
        found,
        [
            row("p", "big", false, "Validation failed for ValidatingAdmissionPolicy 'p' with binding 'w': failed expression: object.spec.replicas <= 2"),
            row("p", "big", false, "Validation failed for ValidatingAdmissionPolicy 'p' with binding 'w': too many"),
        ]
    );
}

/// What the API server refuses when the policy is written is refused at load, with the reason.
#[test]
fn invalid_policies_and_bindings_are_refused() {
    let err = load_error(
        &(policy("p", &format!("{DEPLOYMENTS}{MAX3}"))
            + &binding(
                "b",
                "p",
                "  validationActions: [Deny]\n  paramRef: {name: x, parameterNotFoundAction: Deny}",
            )),
    );
    assert!(
        err.contains("paramRef is set but ValidatingAdmissionPolicy \"p\" has no paramKind"),
        "{err}"
    );
    let err = load_error(
        &(policy(
            "p",
            &format!("  paramKind: {{apiVersion: v1, kind: ConfigMap}}\n{DEPLOYMENTS}{MAX3}"),
        ) + &binding(
            "b",
            "p",
            "  validationActions: [Deny]\n  paramRef: {name: x}",
        )),
    );
    assert!(
        err.contains("parameterNotFoundAction: Required value"),
        "{err}"
    );
    let err = load_error(&policy("p", MAX3));
    assert!(
        err.contains("at least one resourceRule must be defined"),
        "{err}"
    );
    let err = load_error(&policy(
        "p",
        &format!("{DEPLOYMENTS}  variables:\n  - name: a\n    expression: variables.b\n  - name: b\n    expression: '1'\n{MAX3}"),
    ));
    assert!(
        err.contains("`variables.b` is not declared before this expression"),
        "{err}"
    );
    let err = load_error(&policy(
        "p",
        &format!("{DEPLOYMENTS}  validations:\n  - expression: 'true'\n    messageExpression: authorizer.path('/x').check('get').reason()\n"),
    ));
    assert!(
        err.contains("undeclared reference to `authorizer`"),
        "{err}"
    );
}

/// Policies written with the Kubernetes quantity and IP/CIDR libraries and the sets extension
/// judge as the API server would: quantities by value (`1024Mi` is `1Gi`), addresses by
/// network, capability lists as sets.
#[test]
fn quantity_ip_and_sets_libraries_judge_real_policies() {
    let pods = r#"
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["pods"]
"#;
    let memory = format!(
        "{pods}  validations:\n  - expression: >-\n      object.spec.containers.all(c, \
         has(c.resources.limits.memory) &&\n      \
         quantity(c.resources.limits.memory).compareTo(quantity('1Gi')) <= 0)\n    \
         message: memory limits are at most 1Gi\n"
    );
    let network = format!(
        "{pods}  validations:\n  - expression: >-\n      !has(object.spec.hostAliases) || \
         object.spec.hostAliases.all(h, cidr('10.0.0.0/8').containsIP(h.ip))\n    \
         messageExpression: \"'host aliases must stay in 10.0.0.0/8'\"\n"
    );
    let caps = format!(
        "{pods}  validations:\n  - expression: >-\n      object.spec.containers.all(c, \
         sets.contains(c.securityContext.capabilities.drop, ['ALL']) &&\n      \
         !sets.intersects(c.securityContext.capabilities.?add.orValue([]), ['SYS_ADMIN', 'NET_ADMIN']))\n    \
         message: drop ALL and add neither SYS_ADMIN nor NET_ADMIN\n"
    );
    let deny = "  validationActions: [Deny]";
    let text = policy("memory", &memory)
        + &binding("memory", "memory", deny)
        + &policy("network", &network)
        + &binding("network", "network", deny)
        + &policy("caps", &caps)
        + &binding("caps", "caps", deny);
    let pod = |name: &str, memory: &str, alias: &str, add: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  \
             hostAliases:\n  - ip: \"{alias}\"\n    hostnames: [db]\n  containers:\n  - name: app\n    \
             image: app:1\n    resources:\n      limits:\n        memory: {memory}\n    \
             securityContext:\n      capabilities:\n        drop: [ALL]\n        add: [{add}]\n---\n"
        )
    };
    let objects = pod("fits", "1024Mi", "10.1.2.3", "NET_BIND_SERVICE")
        + &pod("big", "1.5Gi", "10.1.2.3", "")
        + &pod("outside", "512Mi", "192.168.1.1", "")
        + &pod("admin", "1G", "10.0.0.1", "SYS_ADMIN");
    let found = judge(&text, &objects);
    let denied = |policy: &str, binding: &str, message: &str| {
        format!(
            "ValidatingAdmissionPolicy '{policy}' with binding '{binding}' denied request: {message}"
        )
    };
    assert_eq!(
        found,
        [
            row(
                "memory",
                "big",
                false,
                &denied("memory", "memory", "memory limits are at most 1Gi")
            ),
            row(
                "network",
                "outside",
                false,
                &denied("network", "network", "host aliases must stay in 10.0.0.0/8")
            ),
            row(
                "caps",
                "admin",
                false,
                &denied(
                    "caps",
                    "caps",
                    "drop ALL and add neither SYS_ADMIN nor NET_ADMIN"
                )
            ),
        ],
        "{found:#?}"
    );
}

/// A custom kind whose plural is irregular is matched by the plural its CRD names, whether
/// the CRD is in the input or given apart with `--crd` (`schema.crds`).
#[test]
fn custom_kinds_match_by_the_plural_of_a_crd_given_apart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = "  matchConstraints:\n    resourceRules:\n    - {apiGroups: [bio.example.com], apiVersions: [v1], operations: [CREATE], resources: [octopi]}\n  validations:\n  - expression: object.spec.arms == 8\n";
    let policies = dir.path().join("policies.yaml");
    std::fs::write(
        &policies,
        policy("arms", spec) + &binding("arms", "arms", "  validationActions: [Deny]"),
    )
    .expect("write");
    let crd = dir.path().join("crd.yaml");
    std::fs::write(
        &crd,
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  \
         name: octopi.bio.example.com\nspec:\n  group: bio.example.com\n  names: {kind: Octopus, \
         plural: octopi}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    \
         storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        \
         x-kubernetes-preserve-unknown-fields: true\n",
    )
    .expect("write");
    let objects = dir.path().join("objects.yaml");
    std::fs::write(
        &objects,
        "apiVersion: bio.example.com/v1\nkind: Octopus\nmetadata: {name: paul, namespace: default}\nspec: {arms: 7}\n",
    )
    .expect("write");
    let run = |crd_paths: Vec<std::path::PathBuf>| -> Vec<String> {
        let setup = kubegate_engine::Setup {
            policy_paths: vec![policies.clone()],
            crd_paths,
            only: vec!["KG004".into()],
            ..Default::default()
        };
        let report = setup
            .checker()
            .expect("checker")
            .check(&Loader::default().load(&[Input::Path(objects.clone())]));
        report
            .findings
            .iter()
            .filter(|f| f.policy.is_some())
            .map(|f| f.object.to_string())
            .collect()
    };
    // Without the CRD the plural is guessed (`octopuses`): the policy does not match.
    assert!(run(Vec::new()).is_empty());
    assert_eq!(run(vec![crd]), ["Octopus/default/paul"]);
}
