//! Command-line arguments as parsed, close to the flags (ripgrep's "low" arguments). Each
//! command in `commands/` resolves them, over the configuration file, into what it runs.
//! Settings the configuration file has too parse into the engine's own types.

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use kubegate_engine::{FailOn, OutputFormat, Severity};
use kubegate_engine::{KubeVersion, UnknownKinds};
use kubegate_engine::{PssLevel, PssVersion};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "kubegate",
    version,
    about = "Kubernetes policy-as-code checks: one engine for pre-commit, CI and admission",
    after_help = "Exit codes: 0 no findings at or above --fail-on, 1 findings at or above it, \
2 usage or load errors.\nLogging: set KUBEGATE_LOG (e.g. KUBEGATE_LOG=debug)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests (files, directories, `-` for stdin) against the built-in rules.
    Check(Box<CheckArgs>),
    /// List the rules kubegate knows.
    Rules(RulesArgs),
    /// Explain one rule: why it matters, how to fix it, examples.
    Explain(ExplainArgs),
    /// Run policy tests: Rego `test_*` rules, Gatekeeper gator `Suite` files and Kyverno CLI
    /// `kyverno-test.yaml` files of ValidatingAdmissionPolicies.
    Test(TestArgs),
    /// List the bundled Kubernetes API schemas: the versions, or the kinds of one version.
    Schemas(SchemasArgs),
    /// Write a commented starter .kubegate.yaml.
    Init(InitArgs),
    /// Install a git pre-commit hook that runs `kubegate check --staged`.
    InstallHook(InstallHookArgs),
    /// The validating admission webhook: serve it, or generate its certificates.
    #[command(subcommand)]
    Webhook(WebhookCommand),
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Serve AdmissionReview (admission.k8s.io/v1) on POST /validate over TLS, and /healthz,
    /// /readyz and /metrics over plain HTTP on the metrics address.
    Serve(Box<ServeArgs>),
    /// Generate a CA and a serving certificate for the webhook's Service; print the caBundle.
    Certs(CertsArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// PEM certificate chain (reloaded when the file changes).
    #[arg(long, value_name = "FILE")]
    pub tls_cert: PathBuf,

    /// PEM private key (reloaded when the file changes).
    #[arg(long, value_name = "FILE")]
    pub tls_key: PathBuf,

    /// Address for admission reviews (HTTPS).
    #[arg(long, value_name = "HOST:PORT", default_value = "0.0.0.0:8443")]
    pub addr: std::net::SocketAddr,

    /// Address for /healthz, /readyz and /metrics (plain HTTP).
    #[arg(long, value_name = "HOST:PORT", default_value = "0.0.0.0:9090")]
    pub metrics_addr: std::net::SocketAddr,

    /// Configuration file (a .kubegate.yaml; its `webhook:` section too). Reloaded on change.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Rego policies and Gatekeeper templates/constraints (files or directories; repeatable).
    /// Reloaded on change.
    #[arg(long, short = 'p', value_name = "PATH")]
    pub policy: Vec<PathBuf>,

    /// CustomResourceDefinition files or directories (repeatable; added to `schema.crds`):
    /// custom resources are validated against them (KG004). Reloaded on change. The Kubernetes
    /// version of built-in schemas is the configuration's `kubernetesVersion`: set it to the
    /// cluster's.
    #[arg(long, value_name = "PATH")]
    pub crd: Vec<PathBuf>,

    /// The webhook's own namespace, never evaluated unless the configuration lists
    /// excludeNamespaces itself [env: POD_NAMESPACE].
    #[arg(long, env = "POD_NAMESPACE", value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Largest request body accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = kubegate_webhook::server::DEFAULT_MAX_BODY_BYTES)]
    pub max_request_bytes: usize,

    /// Time limit for one review, in milliseconds; then the failure mode answers.
    #[arg(long, value_name = "MS", default_value_t = 3000)]
    pub eval_timeout: u64,

    /// Reviews evaluated at once [default: the CPUs available, cgroup quota included].
    #[arg(long, value_name = "N")]
    pub max_concurrency: Option<usize>,

    /// After SIGTERM, seconds to keep serving while /readyz answers 503, so the API server
    /// stops sending before the port closes; then in-flight reviews finish
    /// [default: the configuration's webhook.shutdownDelaySeconds, else 5].
    #[arg(long, value_name = "SECONDS")]
    pub shutdown_delay: Option<u64>,

    /// TLS connections open at once. At the limit a new client takes the slot of the
    /// connection idle longest; connections answering a request keep theirs.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_connections: usize,

    /// Seconds between checks of policy, configuration and certificate files for changes.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub reload_interval: u64,

    /// Keep a cache of the cluster's Namespaces (list + watch) so constraints with a
    /// namespaceSelector see the namespace's labels: `auto` when running in a cluster (or
    /// --kube-api is given), `on` (fail to start without an API server), `off`.
    #[arg(long, value_enum, default_value_t = NamespaceCacheMode::Auto)]
    pub namespace_cache: NamespaceCacheMode,

    /// The Kubernetes API server for the namespace cache (`https://host:port`) [default: the
    /// in-cluster address, KUBERNETES_SERVICE_HOST and _PORT].
    #[arg(long, value_name = "URL", requires = "kube_ca")]
    pub kube_api: Option<String>,

    /// CA bundle for --kube-api [default in-cluster: the service account's ca.crt].
    #[arg(long, value_name = "FILE")]
    pub kube_ca: Option<PathBuf>,

    /// Bearer token file for --kube-api, re-read on every connection [default in-cluster: the
    /// service account's token].
    #[arg(long, value_name = "FILE")]
    pub kube_token: Option<PathBuf>,

    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NamespaceCacheMode {
    Auto,
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Debug, Args)]
pub struct CertsArgs {
    /// Directory to write ca.crt, tls.crt and tls.key to (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,

    /// The webhook Service's name.
    #[arg(long, default_value = "kubegate-webhook")]
    pub service: String,

    /// The webhook Service's namespace.
    #[arg(long, default_value = "kubegate-system")]
    pub namespace: String,

    /// More subject names (DNS names or IP addresses; repeatable).
    #[arg(long, value_name = "NAME")]
    pub san: Vec<String>,

    /// Validity in days.
    #[arg(long, default_value_t = 365)]
    pub days: u32,

    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files or directories to check; `-` reads standard input. Directories are searched
    /// recursively for .yaml, .yml and .json files, honouring .gitignore.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,

    /// Output format [default: human, or the configuration's output.format].
    #[arg(long, short = 'f', value_name = "FORMAT", value_parser = output_format())]
    pub format: Option<OutputFormat>,

    /// Exit 1 when a finding of this severity or higher is reported; `never` only fails on
    /// load errors [default: medium, or the configuration's failOn].
    #[arg(long, value_name = "SEVERITY", value_parser = fail_on())]
    pub fail_on: Option<FailOn>,

    /// Findings never fail the run: exit 0 unless something could not be loaded or evaluated
    /// (conftest's `--no-fail`; the same as `--fail-on never`, and it wins over
    /// `--fail-on-warn`, as in conftest).
    #[arg(long, conflicts_with = "fail_on")]
    pub no_fail: bool,

    /// Every finding of a Rego or Gatekeeper policy fails the run, `warn` rules' included,
    /// whatever its severity (conftest's `--fail-on-warn`); built-in rules still fail by
    /// --fail-on.
    #[arg(long)]
    pub fail_on_warn: bool,

    /// Configuration file [default: the nearest .kubegate.yaml in this or a parent directory].
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Ignore any .kubegate.yaml.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,

    /// Run only these rule packs (comma-separated; see `kubegate rules`). The `kubegate` pack
    /// always runs. Default: every pack.
    #[arg(long, value_delimiter = ',', value_name = "PACK")]
    pub packs: Vec<String>,

    /// Run only these rules (ids or names, comma-separated) instead of packs. The `kubegate`
    /// pack still runs.
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub rules: Vec<String>,

    /// Do not run these rules (ids or names, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub skip_rules: Vec<String>,

    /// Pod Security Standards level: `baseline` runs only baseline checks, `restricted` runs
    /// both levels. Default: both levels, baseline violations graded higher.
    #[arg(long, value_name = "LEVEL", value_parser = parse_pss_level)]
    pub pss_level: Option<PssLevel>,

    /// Pod Security Standards policy version (`v1.0` … `v1.37`, or `latest`), as the Pod
    /// Security Admission controller's `enforce-version`.
    #[arg(long, value_name = "VERSION", value_parser = parse_pss_version)]
    pub pss_version: Option<PssVersion>,

    /// Kubernetes version whose API schemas built-in kinds are validated against (`1.N` or
    /// `v1.N`; see `kubegate schemas` for the bundled ones). Default: `kubernetesVersion` from
    /// the configuration, else the newest bundled. Also the default `--pss-version`.
    #[arg(long, value_name = "VERSION", value_parser = parse_kube_version)]
    pub kube_version: Option<KubeVersion>,

    /// Accept fields the schema does not define (they are errors by default, as with `kubectl
    /// apply`'s strict field validation).
    #[arg(long, overrides_with = "strict")]
    pub no_strict: bool,

    /// Unknown fields are errors (the default; overrides `schema.strict: false`).
    #[arg(long, overrides_with = "no_strict")]
    pub strict: bool,

    /// Objects no schema describes (not a built-in kind, no CustomResourceDefinition): `skip`
    /// reports an advisory note, `fail` a KG006 finding. Default: skip.
    #[arg(long, value_name = "MODE", value_parser = parse_unknown_kinds)]
    pub unknown_kinds: Option<UnknownKinds>,

    /// CustomResourceDefinition files or directories whose schemas validate custom resources
    /// (CRDs in the input are used too). Repeatable.
    #[arg(long, value_name = "PATH")]
    pub crd: Vec<PathBuf>,

    /// Rego policies to run as well: `.rego` files, data documents (`.json`/`.yaml`, merged
    /// under `data`), or directories of them. Repeatable.
    #[arg(long, short = 'p', value_name = "PATH")]
    pub policy: Vec<PathBuf>,

    /// Rego packages whose deny/violation/warn rules run (repeatable; conftest's `--namespace`).
    #[arg(long, value_name = "PACKAGE")]
    pub namespace: Vec<String>,

    /// Run the rules of every Rego package.
    #[arg(long)]
    pub all_namespaces: bool,

    /// Data documents only (`.json`/`.yaml`/`.yml` files or directories of them), merged under
    /// `data` for the policies; Rego files there are not loaded (conftest's `--data`).
    /// Repeatable [default: the configuration's policies.data].
    #[arg(long, value_name = "PATH")]
    pub data: Vec<PathBuf>,

    /// conftest rules judge all objects at once: `input` is an array of `{"path": FILE,
    /// "contents": OBJECT}`, one per object (conftest's `--combine`). Gatekeeper constraints
    /// and built-in rules still judge each object [default: the configuration's
    /// policies.combine].
    #[arg(long)]
    pub combine: bool,

    /// Judge ConstraintTemplates that have a `K8sNativeValidation` (CEL) code block with it, as
    /// Gatekeeper and gator do by default (their `--enable-k8s-native-validation`); `false`
    /// judges them with their Rego [default: the configuration's
    /// policies.k8sNativeValidation, else true].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub enable_k8s_native_validation: Option<bool>,

    /// The input holds every object of its namespaces: a ServiceAccount, ConfigMap or Secret a
    /// workload names that the input does not define (KG220) is a finding at its severity
    /// rather than an advisory note [default: the configuration's completeInput].
    #[arg(long)]
    pub complete_input: bool,

    /// Judge workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
    /// ReplicationController) as the pods they create: Gatekeeper constraints that match Pod
    /// judge their pod templates, as the shipped ExpansionTemplates do.
    #[arg(long)]
    pub expand_workloads: bool,

    /// Longest one policy evaluation on one object may take, in milliseconds.
    #[arg(long, value_name = "MS")]
    pub policy_timeout: Option<u64>,

    /// Write the report in `--format` to this file, and print the human report to standard
    /// output as well.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Treat kustomizations and Helm charts given as inputs as plain directories (do not run
    /// kustomize or helm).
    #[arg(long)]
    pub no_render: bool,

    /// Values file for `helm template` (repeatable).
    #[arg(long, value_name = "FILE")]
    pub helm_values: Vec<PathBuf>,

    /// `--set` assignment for `helm template` (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    pub helm_set: Vec<String>,

    /// Check the staged content of changed manifest files (from the git index, not the working
    /// tree), as a pre-commit hook does.
    #[arg(long)]
    pub staged: bool,

    /// Report and fail only on findings that are new compared with the same paths at this git
    /// revision (matched by rule, object and field, not by line).
    #[arg(long, value_name = "REV")]
    pub diff_base: Option<String>,

    /// With --diff-base, list the findings that already existed too (they never fail the run).
    #[arg(long, requires = "diff_base")]
    pub show_existing: bool,

    /// Leave the source excerpt out of human output.
    #[arg(long)]
    pub no_excerpt: bool,

    /// Place namespaced objects without metadata.namespace in NAMESPACE, as `kubectl apply -n
    /// NAMESPACE` would [default: the configuration's defaultNamespace, else none: such objects
    /// keep no namespace, and Gatekeeper constraints match them whatever their `namespaces`].
    #[arg(long, value_name = "NAMESPACE", value_parser = namespace_name)]
    pub default_namespace: Option<String>,

    /// Namespace objects defined elsewhere (e.g. `kubectl get namespaces -o yaml > ns.yaml`):
    /// seen by rules and policies that look up a namespace (Gatekeeper's namespaceSelector,
    /// KG401), never judged themselves. Repeatable [default: the configuration's
    /// namespaceLabels].
    #[arg(long, value_name = "FILE")]
    pub namespace_labels: Vec<PathBuf>,

    /// Name the files passed over (not Kubernetes manifests) and the kustomizations rendered.
    #[arg(short, long)]
    pub verbose: bool,

    /// Leave findings below this severity out of the report, in every format. They still
    /// count for --fail-on, and the summary says how many were left out [default: the
    /// configuration's output.minSeverity, else none].
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub min_severity: Option<Severity>,

    /// Colour the human and compact formats: `auto` when standard output is a terminal and
    /// NO_COLOR is not set (CLICOLOR_FORCE forces it).
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Largest file kubegate reads, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub max_file_size: usize,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when standard output is a terminal, unless NO_COLOR is set.
    Auto,
    Always,
    Never,
}

/// `--format`: the configuration's [`OutputFormat`], with each value's help.
fn output_format() -> impl clap::builder::TypedValueParser<Value = OutputFormat> {
    clap::builder::PossibleValuesParser::new(
        OutputFormat::NAMES.map(|(name, help)| clap::builder::PossibleValue::new(name).help(help)),
    )
    .try_map(|s| s.parse::<OutputFormat>())
}

/// `--fail-on`: the configuration's [`FailOn`].
fn fail_on() -> impl clap::builder::TypedValueParser<Value = FailOn> {
    clap::builder::PossibleValuesParser::new(FailOn::NAMES).try_map(|s| s.parse::<FailOn>())
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = RulesFormat::Table)]
    pub format: RulesFormat,

    /// Only rules of this pack.
    #[arg(long)]
    pub pack: Option<String>,

    /// Only rules of this severity or higher.
    #[arg(long, value_parser = parse_severity)]
    pub severity: Option<Severity>,

    /// Only rules of this category (`policy` for Rego and Gatekeeper rules).
    #[arg(long, value_parser = category())]
    pub category: Option<String>,

    /// Rego policies whose rules to list as well (files or directories; repeatable).
    #[arg(long, short = 'p', value_name = "PATH")]
    pub policy: Vec<PathBuf>,

    /// Only rules mapped to a benchmark whose reference contains this text (`cis`, `5.2.2`,
    /// `pss`); case-insensitive.
    #[arg(long)]
    pub benchmark: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Table,
    Json,
    /// The rules reference, as in docs/rules.md.
    Markdown,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Rule id (`KG101`), name (`privileged-container`), or the id of a rule in `--policy`.
    pub rule: String,

    /// Rego policies to look the rule up in as well.
    #[arg(long, short = 'p', value_name = "PATH")]
    pub policy: Vec<PathBuf>,
}

/// `--category`: every built-in category, and `policy`.
fn category() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        kubegate_engine::Category::ALL
            .iter()
            .map(|c| c.as_str())
            .chain(["policy"]),
    )
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

fn parse_pss_level(s: &str) -> Result<PssLevel, String> {
    s.parse()
        .map_err(|e: kubegate_engine::PssError| e.to_string())
}

fn parse_kube_version(s: &str) -> Result<KubeVersion, String> {
    s.parse()
        .map_err(|e: kubegate_engine::SchemaError| e.to_string())
}

fn parse_unknown_kinds(s: &str) -> Result<UnknownKinds, String> {
    s.parse()
}

fn parse_pss_version(s: &str) -> Result<PssVersion, String> {
    s.parse()
        .map_err(|e: kubegate_engine::PssError| e.to_string())
}

#[derive(Debug, Args)]
pub struct SchemasArgs {
    /// List the `apiVersion`s and kinds of this Kubernetes version (`1.N` or `v1.N`).
    #[arg(long, value_name = "VERSION", value_parser = parse_kube_version)]
    pub kube_version: Option<KubeVersion>,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Files or directories holding Rego (with `*_test.rego` files), data documents, gator
    /// `Suite` files (`test.gatekeeper.sh/v1alpha1`) and `kyverno-test.yaml` files.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,

    /// Data documents only (`.json`/`.yaml`/`.yml` files or directories of them), merged
    /// under `data` for the tests, as `conftest verify --data` reads them. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub data: Vec<PathBuf>,

    /// gator suites judge ConstraintTemplates that have a `K8sNativeValidation` (CEL) code
    /// block with it, as `gator verify` does by default; `false` judges them with their Rego
    /// (gator's `--enable-k8s-native-validation`).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", default_value_t = true, action = clap::ArgAction::Set)]
    pub enable_k8s_native_validation: bool,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = TestFormat::Human)]
    pub format: TestFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write it.
    #[arg(default_value = ".kubegate.yaml")]
    pub path: PathBuf,

    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct InstallHookArgs {
    /// Replace an existing pre-commit hook that kubegate did not write.
    #[arg(long)]
    pub force: bool,
}

/// A namespace name as the API server accepts it: a DNS-1123 label.
fn namespace_name(text: &str) -> Result<String, String> {
    let valid = !text.is_empty()
        && text.len() <= 63
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-');
    if valid {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "{text:?} is not a namespace name (lowercase letters, digits and '-', at most 63, \
             starting and ending with a letter or digit)"
        ))
    }
}
