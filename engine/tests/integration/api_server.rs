//! The always-on api-server pack (KG010-KG018) on testdata/api-server/: what the API server's
//! own validation refuses although the schema passes, at the exact field, with the API server's
//! wording; and the objects it must leave alone (a StatefulSet's claim templates, a volume
//! without a source, RBAC names with `:`).

use crate::common;

use kubegate_engine::{Input, Loader, Report, Setup};

const RULES: [&str; 7] = [
    "KG010", "KG011", "KG012", "KG013", "KG014", "KG015", "KG016",
];

fn check(version: Option<&str>) -> Report {
    let setup = Setup {
        only: RULES.map(String::from).to_vec(),
        kube_version: version.map(|v| v.parse().expect("version")),
        ..Default::default()
    };
    let checker = setup.checker().expect("checker");
    let report = checker.check(
        &Loader::default().load(&[Input::Path(common::testdata("api-server/workloads.yaml"))]),
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    report
}

/// `rule line:column object message-start` of the api-server findings.
fn rows(report: &Report) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|f| RULES.contains(&f.rule_id.as_ref()))
        .map(|f| {
            let message: String = f.message.chars().take(70).collect();
            format!(
                "{} {}:{} {} {message}",
                f.rule_id,
                f.location.line.unwrap_or(0),
                f.location.column.unwrap_or(0),
                f.object
            )
        })
        .collect()
}

#[test]
fn api_server_validation_points_at_each_refused_field() {
    let report = check(None);
    let d = "Deployment/shop_eu/Storefront";
    assert_eq!(
        rows(&report),
        [
            format!("KG010 6:3 {d} metadata.name: Invalid value: \"Storefront\": a lowercase RFC 1123 subdo"),
            format!("KG010 7:3 {d} metadata.namespace: Invalid value: \"shop_eu\": a lowercase RFC 1123 lab"),
            format!("KG010 9:5 {d} metadata.labels: Invalid value: \"2.0 rc1\": a valid label must be an em"),
            format!("KG010 10:5 {d} metadata.labels: Invalid value: \"-bad-key\": name part must consist of "),
            format!("KG011 18:7 {d} spec.template.metadata.labels: Invalid value: `selector` does not matc"),
            format!("KG012 20:7 {d} spec.template.spec.restartPolicy: Unsupported value: \"Never\": supporte"),
            format!("KG012 25:15 {d} spec.template.spec.containers[0].ports[0].name: Invalid value: \"HTTP\":"),
            format!("KG012 28:15 {d} spec.template.spec.containers[0].ports[1].containerPort: Invalid value"),
            format!("KG012 33:24 {d} spec.template.spec.containers[0].resources.requests: Invalid value: \"2"),
            format!("KG012 35:11 {d} spec.template.spec.containers[0].livenessProbe: Required value: must s"),
            format!("KG012 39:13 {d} spec.template.spec.containers[0].readinessProbe.tcpSocket: Forbidden: "),
            format!("KG012 43:15 {d} spec.template.spec.containers[0].volumeMounts[1].name: Not found: \"con"),
            format!("KG012 44:15 {d} spec.template.spec.containers[0].volumeMounts[1].mountPath: Invalid va"),
            format!("KG012 45:15 {d} spec.template.spec.containers[0].volumeMounts[1].subPath: Invalid valu"),
            format!("KG012 46:11 {d} spec.template.spec.containers[1].name: Duplicate value: \"web\" (contain"),
            format!("KG012 49:11 {d} spec.template.spec.volumes[0]: Forbidden: may not specify more than 1 "),
            format!("KG012 52:11 {d} spec.template.spec.volumes[1].name: Duplicate value: \"cache\""),
            "KG012 99:7 Pod/shop/debug- spec.containers[0].image: Required value".to_owned(),
            "KG010 105:3 CronJob/shop/nightly-report-for-the-finance-department-in-every-region metadata.name: Invalid value: \"nightly-report-for-the-finance-departme".to_owned(),
            "KG014 108:3 CronJob/shop/nightly-report-for-the-finance-department-in-every-region spec.schedule: Invalid value: \"0 3 * * 7\": end of range (7) above maxi".to_owned(),
            "KG014 109:3 CronJob/shop/nightly-report-for-the-finance-department-in-every-region spec.timeZone: Invalid value: \"Local\": timeZone must be an explicit ti".to_owned(),
            "KG014 110:3 CronJob/shop/nightly-report-for-the-finance-department-in-every-region spec.concurrencyPolicy: Unsupported value: \"Sometimes\": supported valu".to_owned(),
            "KG014 113:7 CronJob/shop/nightly-report-for-the-finance-department-in-every-region spec.jobTemplate.spec.selector: Invalid value: `selector` will be auto".to_owned(),
            "KG012 116:9 CronJob/shop/nightly-report-for-the-finance-department-in-every-region spec.jobTemplate.spec.template.spec.restartPolicy: Required value: val".to_owned(),
            "KG010 124:3 Service/shop/1web metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of".to_owned(),
            "KG013 129:3 Service/shop/1web spec.sessionAffinity: Unsupported value: \"Sticky\": supported values: \"".to_owned(),
            "KG013 134:7 Service/shop/1web spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'Clu".to_owned(),
            "KG013 135:7 Service/shop/1web spec.ports[1]: Duplicate value: TCP/80 (another port has the same prot".to_owned(),
            "KG013 135:7 Service/shop/1web spec.ports[1].name: Duplicate value: \"http\"".to_owned(),
            "KG013 137:7 Service/shop/1web spec.ports[1].targetPort: Invalid value: \"Web_Port\": must contain only".to_owned(),
            "KG011 145:3 DaemonSet/shop/agent spec.selector: Invalid value: empty selector is invalid for daemonset".to_owned(),
            "KG015 155:15 DaemonSet/shop/agent spec.template.spec.containers[0].env[1]: name \"MODE\" repeats spec.temp".to_owned(),
            "KG015 158:15 DaemonSet/shop/agent spec.template.spec.containers[0].ports[1]: containerPort 9100/TCP repe".to_owned(),
            "KG016 174:3 Pod/shop/enums spec.dnsPolicy: Unsupported value: \"ClusterFirstWithHostnet\": supporte".to_owned(),
            "KG016 177:37 Pod/shop/enums spec.tolerations[1].effect: Unsupported value: \"NoRun\": supported valu".to_owned(),
            "KG016 183:29 Pod/shop/enums spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecut".to_owned(),
            "KG016 187:7 Pod/shop/enums spec.containers[0].imagePullPolicy: Unsupported value: \"always\": suppo".to_owned(),
            "KG016 190:31 Pod/shop/enums spec.containers[0].ports[0].protocol: Unsupported value: \"tcp\": suppor".to_owned(),
        ]
    );
}

#[test]
fn environment_variable_names_follow_the_target_version() {
    // `1_LEVEL` starts with a digit: refused before relaxed validation (default from 1.32),
    // accepted since.
    let env = |version| {
        rows(&check(Some(version)))
            .into_iter()
            .filter(|r| r.contains(".env["))
            .filter(|r| r.starts_with("KG012"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        env("1.31"),
        ["KG012 30:15 Deployment/shop_eu/Storefront spec.template.spec.containers[0].env[0].name: Invalid value: \"1_LEVEL\""]
    );
    assert!(env("1.32").is_empty());
}

#[test]
fn enum_values_follow_the_target_version() {
    // Toleration operators `Lt` and `Gt` are documented from 1.35 on.
    let tolerations = |version| {
        rows(&check(Some(version)))
            .into_iter()
            .filter(|r| r.starts_with("KG016") && r.contains(".tolerations["))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        tolerations("1.34"),
        [
            "KG016 176:18 Pod/shop/enums spec.tolerations[0].operator: Unsupported value: \"Gt\": supported value",
            "KG016 177:37 Pod/shop/enums spec.tolerations[1].effect: Unsupported value: \"NoRun\": supported valu",
        ]
    );
    assert_eq!(
        tolerations("1.35"),
        ["KG016 177:37 Pod/shop/enums spec.tolerations[1].effect: Unsupported value: \"NoRun\": supported valu"]
    );
}

#[test]
fn autoscaler_bounds_and_target_names_are_judged_as_the_api_server_does() {
    let setup = Setup {
        only: vec!["KG017".to_owned()],
        ..Default::default()
    };
    let report = setup.checker().expect("checker").check(
        &Loader::default().load(&[Input::Path(common::testdata("api-server/autoscalers.yaml"))]),
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let rows: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.rule_id == "KG017")
        .map(|f| {
            format!(
                "{}:{} {} {}",
                f.location.line.unwrap_or(0),
                f.location.column.unwrap_or(0),
                f.object,
                f.message
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            "11:3 HorizontalPodAutoscaler/shop/inverted spec.maxReplicas: Invalid value: 3: must be greater than or equal to `minReplicas`",
            "22:5 HorizontalPodAutoscaler/shop/to-zero spec.scaleTargetRef.name: Invalid value: \"web/v2\": may not contain '/'",
            "23:3 HorizontalPodAutoscaler/shop/to-zero spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
            "24:3 HorizontalPodAutoscaler/shop/to-zero spec.maxReplicas: Invalid value: 0: must be greater than 0",
            "32:59 HorizontalPodAutoscaler/shop/empty-target-name spec.scaleTargetRef.name: Required value",
        ]
    );
}

/// KG018 on the UPDATE requests of testdata/api-server/updates.yaml, each judged as the webhook
/// judges it: `request.object` against `request.oldObject`.
#[test]
fn updates_that_change_immutable_fields_are_refused_against_the_old_object() {
    let setup = Setup {
        only: vec!["KG018".to_owned()],
        ..Default::default()
    };
    let checker = setup.checker().expect("checker");
    let loaded =
        Loader::default().load(&[Input::Path(common::testdata("api-server/updates.yaml"))]);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let mut rows = Vec::new();
    for review in &loaded.manifests {
        let request = review.value.get("request").expect("request");
        let uid = request["uid"].as_str().expect("uid");
        let object = kubegate_engine::Manifest::from_value(
            request["object"].clone(),
            kubegate_engine::Source::Admission(uid.into()),
        )
        .expect("object");
        let report = checker.evaluate(kubegate_engine::Subject::Admission {
            object: &object,
            review: request,
        });
        for f in report.findings.iter().filter(|f| f.rule_id == "KG018") {
            rows.push(format!("{uid} {} {}", f.pointer, f.message));
        }
    }
    assert_eq!(
        rows,
        [
            "statefulset-claims /spec/volumeClaimTemplates spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
            "job-template /spec/completionMode spec.completionMode: Invalid value: \"Indexed\": field is immutable",
            // Values echoed into messages are cut at 80 bytes.
            "job-template /spec/template spec.template: Invalid value: {\"spec\":{\"containers\":[{\"image\":\"migrate:2\",\"name\":\"m\"}],\"restartPolicy\":\"Never\"… (82 bytes): field is immutable",
            "service-cluster-ip /spec/clusterIP spec.clusterIP: Invalid value: \"10.96.0.20\": field is immutable",
            "claim-class /spec/storageClassName spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
            "configmap-immutable  immutable: Forbidden: field is immutable when `immutable` is set",
            "configmap-immutable /data data: Forbidden: field is immutable when `immutable` is set",
            "secret-type /type type: Invalid value: \"kubernetes.io/tls\": field is immutable",
            "binding-role /roleRef roleRef: Invalid value: {\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"edit\"}: cannot change roleRef",
            "storage-class /parameters parameters: Forbidden: updates to parameters are forbidden.",
        ]
    );
}
