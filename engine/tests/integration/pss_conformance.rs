//! Pod Security Standards conformance.
//!
//! `testdata/pss/<level>/v1.<minor>/<pass|fail>/<check><N>.yaml` holds pods in the shape of the
//! upstream Pod Security Admission test data: a minimal valid pod for the level and version,
//! changed in one way per file. The tree is generated from the case table below (our own,
//! written from the upstream check semantics) and checked in; `generated_tree_is_up_to_date`
//! fails when the two disagree (`KUBEGATE_UPDATE_FIXTURES=1` rewrites the tree).
//!
//! `every_pod_at_every_version` then judges every fixture at every policy version from v1.0 to
//! v1.37 and `latest`, at both levels: a directory holds the cases of the newest variants at
//! its version, and stays valid until the next directory, so each version is judged with the
//! newest directory at or below it. Pass fixtures must produce no finding at all; fail fixtures
//! must produce findings of the check's own rule (or of the baseline rule it overrides) and
//! nothing else.

use kubegate_engine::{Checker, Loaded, Loader, Settings};
use kubegate_engine::{PssLevel, PssSettings, PssVersion, PSS_NEWEST_MINOR as NEWEST_MINOR};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const LEVELS: [PssLevel; 2] = [PssLevel::Baseline, PssLevel::Restricted];

/// Versions at which a check variant or a minimal pod changes: the generated directories.
const DIRECTORIES: [u32; 13] = [0, 8, 19, 22, 23, 25, 27, 29, 31, 32, 34, 35, 37];

/// `(upstream check id, level, first version, kubegate rules that may report a failure)`.
const CHECKS: [(&str, PssLevel, u32, &[&str]); 19] = [
    ("appArmorProfile", PssLevel::Baseline, 0, &["KG106"]),
    ("capabilities_baseline", PssLevel::Baseline, 0, &["KG105"]),
    ("hostNamespaces", PssLevel::Baseline, 0, &["KG102"]),
    ("hostPathVolumes", PssLevel::Baseline, 0, &["KG103"]),
    ("hostPorts", PssLevel::Baseline, 0, &["KG104"]),
    (
        "hostProbesAndHostLifecycle",
        PssLevel::Baseline,
        34,
        &["KG112"],
    ),
    ("privileged", PssLevel::Baseline, 0, &["KG101"]),
    ("procMount", PssLevel::Baseline, 0, &["KG108"]),
    ("seLinuxOptions", PssLevel::Baseline, 0, &["KG107"]),
    ("seccompProfile_baseline", PssLevel::Baseline, 0, &["KG109"]),
    ("sysctls", PssLevel::Baseline, 0, &["KG110"]),
    ("windowsHostProcess", PssLevel::Baseline, 0, &["KG111"]),
    (
        "allowPrivilegeEscalation",
        PssLevel::Restricted,
        8,
        &["KG122"],
    ),
    (
        "capabilities_restricted",
        PssLevel::Restricted,
        22,
        &["KG126", "KG105"],
    ),
    (
        "procMount_restricted",
        PssLevel::Restricted,
        35,
        &["KG127", "KG108"],
    ),
    (
        "restrictedVolumes",
        PssLevel::Restricted,
        0,
        &["KG121", "KG103"],
    ),
    ("runAsNonRoot", PssLevel::Restricted, 0, &["KG123"]),
    ("runAsUser", PssLevel::Restricted, 23, &["KG124"]),
    (
        "seccompProfile_restricted",
        PssLevel::Restricted,
        19,
        &["KG125", "KG109"],
    ),
];

/// The minimal pod that passes `level` at `minor`, as upstream builds it.
fn minimal_pod(level: PssLevel, minor: u32, windows: bool) -> Value {
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "pod"},
        "spec": {
            "initContainers": [{"name": "initcontainer1", "image": "registry.k8s.io/pause"}],
            "containers": [{"name": "container1", "image": "registry.k8s.io/pause"}],
        },
    });
    if level == PssLevel::Restricted {
        pod["spec"]["securityContext"]["runAsNonRoot"] = json!(true);
        if windows {
            pod["spec"]["os"] = json!({"name": "windows"});
            return pod;
        }
        for list in ["initContainers", "containers"] {
            let c = &mut pod["spec"][list][0];
            if minor >= 8 {
                c["securityContext"]["allowPrivilegeEscalation"] = json!(false);
            }
            if minor >= 22 {
                c["securityContext"]["capabilities"] = json!({"drop": ["ALL"]});
            }
        }
        if minor >= 19 {
            pod["spec"]["securityContext"]["seccompProfile"] = json!({"type": "RuntimeDefault"});
        }
        if minor >= 25 {
            pod["spec"]["os"] = json!({"name": "linux"});
        }
    }
    pod
}

type Edit = Box<dyn Fn(&mut Value)>;

fn edit(f: impl Fn(&mut Value) + 'static) -> Edit {
    Box::new(f)
}

fn c0(p: &mut Value) -> &mut Value {
    &mut p["spec"]["containers"][0]
}

fn i0(p: &mut Value) -> &mut Value {
    &mut p["spec"]["initContainers"][0]
}

fn annotate(p: &mut Value, key: &str, value: &str) {
    p["metadata"]["annotations"][key] = json!(value);
}

fn sysctl_pod(names: &[&str]) -> Edit {
    let list: Vec<Value> = names
        .iter()
        .map(|n| json!({"name": n, "value": "0"}))
        .collect();
    edit(move |p| p["spec"]["securityContext"]["sysctls"] = json!(list.clone()))
}

const SYSCTLS_V1_0: [&str; 5] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
];

/// Pass and fail edits of the newest variant of `check` at `minor`, applied to the minimal pod
/// of `level`. Like upstream, pass cases that only hold at baseline are left out at restricted.
fn cases(check: &str, level: PssLevel, minor: u32) -> (Vec<Edit>, Vec<Edit>) {
    let restricted = level == PssLevel::Restricted;
    match check {
        "hostNamespaces" => (
            vec![edit(|p| p["spec"]["hostNetwork"] = json!(false))],
            vec![
                edit(|p| p["spec"]["hostNetwork"] = json!(true)),
                edit(|p| p["spec"]["hostPID"] = json!(true)),
                edit(|p| p["spec"]["hostIPC"] = json!(true)),
            ],
        ),
        "privileged" => (
            vec![edit(|p| {
                c0(p)["securityContext"]["privileged"] = json!(false);
                i0(p)["securityContext"]["privileged"] = json!(false);
            })],
            vec![
                edit(|p| c0(p)["securityContext"]["privileged"] = json!(true)),
                edit(|p| i0(p)["securityContext"]["privileged"] = json!(true)),
            ],
        ),
        "capabilities_baseline" => {
            let mut pass = vec![];
            if !(restricted && minor >= 22) {
                pass.push(edit(|p| {
                    c0(p)["securityContext"]["capabilities"]["add"] = json!([
                        "AUDIT_WRITE",
                        "CHOWN",
                        "DAC_OVERRIDE",
                        "FOWNER",
                        "FSETID",
                        "KILL",
                        "MKNOD",
                        "NET_BIND_SERVICE",
                        "SETFCAP",
                        "SETGID",
                        "SETPCAP",
                        "SETUID",
                        "SYS_CHROOT"
                    ])
                }));
            }
            (
                pass,
                vec![
                    edit(|p| c0(p)["securityContext"]["capabilities"]["add"] = json!(["NET_RAW"])),
                    edit(|p| {
                        i0(p)["securityContext"]["capabilities"]["add"] = json!(["SYS_ADMIN"])
                    }),
                    edit(|p| c0(p)["securityContext"]["capabilities"]["add"] = json!(["chown"])),
                ],
            )
        }
        "hostPathVolumes" => (
            vec![edit(|p| {
                p["spec"]["volumes"] = json!([{"name": "volume1", "emptyDir": {}}])
            })],
            vec![edit(|p| {
                p["spec"]["volumes"] = json!([{"name": "volume1", "hostPath": {"path": "/a"}}])
            })],
        ),
        "hostPorts" => (
            vec![
                edit(|p| c0(p)["ports"] = json!([{"containerPort": 12345}])),
                edit(|p| c0(p)["ports"] = json!([{"containerPort": 12345, "hostPort": 0}])),
            ],
            vec![
                edit(|p| c0(p)["ports"] = json!([{"containerPort": 12345, "hostPort": 12345}])),
                edit(|p| i0(p)["ports"] = json!([{"containerPort": 12346, "hostPort": 12346}])),
            ],
        ),
        "appArmorProfile" => (
            vec![
                edit(|p| {
                    annotate(
                        p,
                        "container.apparmor.security.beta.kubernetes.io/container1",
                        "runtime/default",
                    )
                }),
                edit(|p| {
                    annotate(
                        p,
                        "container.apparmor.security.beta.kubernetes.io/initcontainer1",
                        "localhost/foo",
                    )
                }),
                edit(|p| {
                    p["spec"]["securityContext"]["appArmorProfile"] =
                        json!({"type": "RuntimeDefault"})
                }),
                edit(|p| {
                    c0(p)["securityContext"]["appArmorProfile"] =
                        json!({"type": "Localhost", "localhostProfile": "foo"})
                }),
            ],
            vec![
                edit(|p| {
                    annotate(
                        p,
                        "container.apparmor.security.beta.kubernetes.io/container1",
                        "unconfined",
                    )
                }),
                edit(|p| {
                    annotate(
                        p,
                        "container.apparmor.security.beta.kubernetes.io/initcontainer1",
                        "bogus",
                    )
                }),
                edit(|p| {
                    p["spec"]["securityContext"]["appArmorProfile"] = json!({"type": "Unconfined"})
                }),
                edit(|p| {
                    c0(p)["securityContext"]["appArmorProfile"] = json!({"type": "Unconfined"})
                }),
            ],
        ),
        "seLinuxOptions" => {
            let mut pass = vec![
                edit(|p| {
                    p["spec"]["securityContext"]["seLinuxOptions"] =
                        json!({"type": "container_t", "level": "s0:c1,c2"})
                }),
                edit(|p| {
                    c0(p)["securityContext"]["seLinuxOptions"] = json!({"type": "container_init_t"})
                }),
                edit(|p| {
                    i0(p)["securityContext"]["seLinuxOptions"] = json!({"type": "container_kvm_t"})
                }),
            ];
            let mut fail = vec![
                edit(|p| p["spec"]["securityContext"]["seLinuxOptions"] = json!({"type": "bar"})),
                edit(|p| c0(p)["securityContext"]["seLinuxOptions"] = json!({"user": "foo"})),
                edit(|p| i0(p)["securityContext"]["seLinuxOptions"] = json!({"role": "baz"})),
            ];
            let engine = edit(|p| {
                c0(p)["securityContext"]["seLinuxOptions"] = json!({"type": "container_engine_t"})
            });
            if minor >= 31 {
                pass.push(engine);
            } else {
                fail.push(engine);
            }
            (pass, fail)
        }
        "procMount" => {
            let mut pass = vec![edit(|p| {
                c0(p)["securityContext"]["procMount"] = json!("Default")
            })];
            if minor >= 35 && !restricted {
                pass.push(edit(|p| {
                    p["spec"]["hostUsers"] = json!(false);
                    c0(p)["securityContext"]["procMount"] = json!("Unmasked");
                }));
            }
            (
                pass,
                vec![
                    edit(|p| c0(p)["securityContext"]["procMount"] = json!("Unmasked")),
                    edit(|p| i0(p)["securityContext"]["procMount"] = json!("other")),
                ],
            )
        }
        "seccompProfile_baseline" if minor < 19 => (
            vec![
                edit(|p| {
                    annotate(
                        p,
                        "seccomp.security.alpha.kubernetes.io/pod",
                        "runtime/default",
                    )
                }),
                edit(|p| {
                    annotate(
                        p,
                        "container.seccomp.security.alpha.kubernetes.io/container1",
                        "docker/default",
                    )
                }),
                edit(|p| {
                    annotate(
                        p,
                        "container.seccomp.security.alpha.kubernetes.io/initcontainer1",
                        "localhost/foo",
                    )
                }),
                // Before v1.19 the fields are not read at all.
                edit(|p| {
                    p["spec"]["securityContext"]["seccompProfile"] = json!({"type": "Unconfined"})
                }),
                // Annotations for containers the pod does not have are ignored.
                edit(|p| {
                    annotate(
                        p,
                        "container.seccomp.security.alpha.kubernetes.io/other",
                        "unconfined",
                    )
                }),
            ],
            vec![
                edit(|p| annotate(p, "seccomp.security.alpha.kubernetes.io/pod", "unconfined")),
                edit(|p| {
                    annotate(
                        p,
                        "container.seccomp.security.alpha.kubernetes.io/container1",
                        "unconfined",
                    )
                }),
                edit(|p| annotate(p, "seccomp.security.alpha.kubernetes.io/pod", "")),
            ],
        ),
        "seccompProfile_baseline" => (
            vec![
                edit(|p| {
                    p["spec"]["securityContext"]["seccompProfile"] =
                        json!({"type": "RuntimeDefault"})
                }),
                edit(|p| {
                    c0(p)["securityContext"]["seccompProfile"] =
                        json!({"type": "Localhost", "localhostProfile": "p.json"})
                }),
                // From v1.19 the annotations are not read.
                edit(|p| annotate(p, "seccomp.security.alpha.kubernetes.io/pod", "unconfined")),
            ],
            vec![
                edit(|p| {
                    p["spec"]["securityContext"]["seccompProfile"] = json!({"type": "Unconfined"})
                }),
                edit(|p| {
                    c0(p)["securityContext"]["seccompProfile"] = json!({"type": "Unconfined"})
                }),
                edit(|p| {
                    i0(p)["securityContext"]["seccompProfile"] = json!({"type": "Unconfined"})
                }),
            ],
        ),
        "sysctls" => {
            let added: &[(u32, &[&str])] = &[
                (27, &["net.ipv4.ip_local_reserved_ports"]),
                (
                    29,
                    &[
                        "net.ipv4.tcp_keepalive_time",
                        "net.ipv4.tcp_fin_timeout",
                        "net.ipv4.tcp_keepalive_intvl",
                        "net.ipv4.tcp_keepalive_probes",
                    ],
                ),
                (32, &["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"]),
                (
                    37,
                    &[
                        "net.ipv4.tcp_slow_start_after_idle",
                        "net.ipv4.tcp_notsent_lowat",
                    ],
                ),
            ];
            let mut allowed: Vec<&str> = SYSCTLS_V1_0.to_vec();
            let mut fail = vec![
                sysctl_pod(&["kernel.msgmax"]),
                sysctl_pod(&["net.core.somaxconn", "kernel.shm_rmid_forced"]),
            ];
            for (since, names) in added {
                if minor >= *since {
                    allowed.extend(names.iter());
                } else {
                    // The next version's names are still forbidden here.
                    fail.push(sysctl_pod(names));
                }
            }
            (vec![sysctl_pod(&allowed)], fail)
        }
        "windowsHostProcess" => (
            vec![edit(|p| {
                p["spec"]["securityContext"]["windowsOptions"] = json!({"hostProcess": false})
            })],
            vec![
                edit(|p| {
                    p["spec"]["securityContext"]["windowsOptions"] = json!({"hostProcess": true})
                }),
                edit(|p| c0(p)["securityContext"]["windowsOptions"] = json!({"hostProcess": true})),
            ],
        ),
        "hostProbesAndHostLifecycle" => (
            vec![edit(|p| {
                c0(p)["livenessProbe"] = json!({"httpGet": {"path": "/", "port": 8080}})
            })],
            vec![
                edit(|p| {
                    c0(p)["livenessProbe"] =
                        json!({"httpGet": {"host": "example.com", "port": 8080}})
                }),
                edit(|p| {
                    c0(p)["readinessProbe"] =
                        json!({"tcpSocket": {"host": "127.0.0.1", "port": 8080}})
                }),
                edit(|p| {
                    c0(p)["lifecycle"] =
                        json!({"postStart": {"httpGet": {"host": "localhost", "port": 80}}})
                }),
            ],
        ),
        "restrictedVolumes" => (
            vec![edit(|p| {
                p["spec"]["volumes"] = json!([
                    {"name": "v0"},
                    {"name": "v1", "configMap": {"name": "c"}},
                    {"name": "v2", "csi": {"driver": "inline.storage.kubernetes.io"}},
                    {"name": "v3", "downwardAPI": {"items": []}},
                    {"name": "v4", "emptyDir": {}},
                    {"name": "v5", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"]}}}},
                    {"name": "v6", "image": {"reference": "registry.k8s.io/pause"}},
                    {"name": "v7", "persistentVolumeClaim": {"claimName": "claim"}},
                    {"name": "v8", "projected": {"sources": []}},
                    {"name": "v9", "secret": {"secretName": "s"}},
                ])
            })],
            vec![
                edit(
                    |p| p["spec"]["volumes"] = json!([{"name": "v1", "gitRepo": {"repository": "https://example.com/r.git"}}]),
                ),
                edit(|p| {
                    p["spec"]["volumes"] =
                        json!([{"name": "v1", "nfs": {"server": "nfs", "path": "/"}}])
                }),
                edit(|p| p["spec"]["volumes"] = json!([{"name": "v1", "hostPath": {"path": "/"}}])),
                edit(|p| {
                    p["spec"]["volumes"] =
                        json!([{"name": "v1", "awsElasticBlockStore": {"volumeID": "vol-1"}}])
                }),
            ],
        ),
        "allowPrivilegeEscalation" => {
            let mut pass = vec![];
            if minor >= 25 {
                pass.push(edit(|p| *p = windows_pod(p)));
            }
            (
                pass,
                vec![
                    edit(|p| c0(p)["securityContext"]["allowPrivilegeEscalation"] = json!(true)),
                    edit(|p| {
                        if let Some(sc) = i0(p)["securityContext"].as_object_mut() {
                            sc.remove("allowPrivilegeEscalation");
                        }
                    }),
                ],
            )
        }
        "runAsNonRoot" => {
            let mut pass = vec![edit(|p| {
                if let Some(sc) = p["spec"]["securityContext"].as_object_mut() {
                    sc.remove("runAsNonRoot");
                }
                c0(p)["securityContext"]["runAsNonRoot"] = json!(true);
                i0(p)["securityContext"]["runAsNonRoot"] = json!(true);
            })];
            if minor >= 35 {
                pass.push(edit(|p| {
                    p["spec"]["hostUsers"] = json!(false);
                    if let Some(sc) = p["spec"]["securityContext"].as_object_mut() {
                        sc.remove("runAsNonRoot");
                    }
                }));
            }
            (
                pass,
                vec![
                    edit(|p| p["spec"]["securityContext"]["runAsNonRoot"] = json!(false)),
                    edit(|p| {
                        if let Some(sc) = p["spec"]["securityContext"].as_object_mut() {
                            sc.remove("runAsNonRoot");
                        }
                    }),
                    edit(|p| c0(p)["securityContext"]["runAsNonRoot"] = json!(false)),
                    // A pod-level false is a violation even when every container sets true.
                    edit(|p| {
                        p["spec"]["securityContext"]["runAsNonRoot"] = json!(false);
                        c0(p)["securityContext"]["runAsNonRoot"] = json!(true);
                        i0(p)["securityContext"]["runAsNonRoot"] = json!(true);
                    }),
                ],
            )
        }
        "runAsUser" => {
            let mut pass = vec![edit(|p| {
                p["spec"]["securityContext"]["runAsUser"] = json!(1000)
            })];
            if minor >= 35 {
                pass.push(edit(|p| {
                    p["spec"]["hostUsers"] = json!(false);
                    p["spec"]["securityContext"]["runAsUser"] = json!(0);
                }));
            }
            (
                pass,
                vec![
                    edit(|p| p["spec"]["securityContext"]["runAsUser"] = json!(0)),
                    edit(|p| c0(p)["securityContext"]["runAsUser"] = json!(0)),
                    edit(|p| i0(p)["securityContext"]["runAsUser"] = json!(0)),
                ],
            )
        }
        "seccompProfile_restricted" => {
            let unset_pod = |p: &mut Value| {
                if let Some(sc) = p["spec"]["securityContext"].as_object_mut() {
                    sc.remove("seccompProfile");
                }
            };
            let mut pass = vec![edit(move |p| {
                unset_pod(p);
                c0(p)["securityContext"]["seccompProfile"] = json!({"type": "RuntimeDefault"});
                i0(p)["securityContext"]["seccompProfile"] =
                    json!({"type": "Localhost", "localhostProfile": "p.json"});
            })];
            if minor >= 25 {
                pass.push(edit(|p| *p = windows_pod(p)));
            }
            (
                pass,
                vec![
                    edit(move |p| unset_pod(p)),
                    edit(move |p| {
                        unset_pod(p);
                        c0(p)["securityContext"]["seccompProfile"] =
                            json!({"type": "RuntimeDefault"});
                    }),
                    edit(|p| {
                        p["spec"]["securityContext"]["seccompProfile"] =
                            json!({"type": "Unconfined"})
                    }),
                    edit(|p| {
                        c0(p)["securityContext"]["seccompProfile"] = json!({"type": "Unconfined"})
                    }),
                ],
            )
        }
        "capabilities_restricted" => {
            let mut pass = vec![edit(|p| {
                c0(p)["securityContext"]["capabilities"]["add"] = json!(["NET_BIND_SERVICE"])
            })];
            if minor >= 25 {
                pass.push(edit(|p| {
                    *p = windows_pod(p);
                    c0(p)["securityContext"]["capabilities"]["add"] = json!(["SYS_ADMIN"]);
                }));
            }
            (
                pass,
                vec![
                    edit(|p| c0(p)["securityContext"]["capabilities"] = json!({})),
                    edit(|p| i0(p)["securityContext"]["capabilities"]["drop"] = json!(["all"])),
                    edit(|p| c0(p)["securityContext"]["capabilities"]["add"] = json!(["CHOWN"])),
                    edit(|p| {
                        c0(p)["securityContext"]["capabilities"]["add"] = json!(["SYS_ADMIN"])
                    }),
                ],
            )
        }
        "procMount_restricted" => (
            vec![edit(|p| {
                c0(p)["securityContext"]["procMount"] = json!("Default")
            })],
            vec![
                edit(|p| {
                    p["spec"]["hostUsers"] = json!(false);
                    c0(p)["securityContext"]["procMount"] = json!("Unmasked");
                }),
                edit(|p| c0(p)["securityContext"]["procMount"] = json!("Unmasked")),
            ],
        ),
        other => panic!("no cases for {other}"),
    }
}

/// The minimal restricted Windows pod, keeping the name of `p`.
fn windows_pod(p: &Value) -> Value {
    let mut pod = minimal_pod(PssLevel::Restricted, 25, true);
    pod["metadata"]["name"] = p["metadata"]["name"].clone();
    pod
}

/// Every fixture file: relative path → YAML text.
fn generate() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for level in LEVELS {
        for minor in DIRECTORIES {
            let dir = format!("{}/v1.{minor}", level.as_str());
            let mut base = minimal_pod(level, minor, false);
            base["metadata"]["name"] = json!("base");
            files.insert(format!("{dir}/pass/base.yaml"), to_yaml(&base));
            for (check, check_level, since, _) in CHECKS {
                if minor < since
                    || (check_level == PssLevel::Restricted && level == PssLevel::Baseline)
                {
                    continue;
                }
                let stem = check.to_ascii_lowercase();
                let (pass, fail) = cases(check, level, minor);
                for (outcome, edits) in [("pass", pass), ("fail", fail)] {
                    for (n, apply) in edits.iter().enumerate() {
                        let mut pod = minimal_pod(level, minor, false);
                        pod["metadata"]["name"] = json!(format!("{stem}{n}"));
                        apply(&mut pod);
                        files.insert(format!("{dir}/{outcome}/{stem}{n}.yaml"), to_yaml(&pod));
                    }
                }
            }
        }
    }
    files
}

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/pss"))
}

fn on_disk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if entry.path().is_dir() {
            on_disk(&entry.path(), &rel, out);
        } else if name.ends_with(".yaml") {
            out.insert(
                rel,
                std::fs::read_to_string(entry.path()).unwrap_or_default(),
            );
        }
    }
}

/// Held by both tests: with `KUBEGATE_UPDATE_FIXTURES` set, one rewrites
/// `testdata/pss` (removing it first) while the other would read it.
static TREE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn lock_tree() -> std::sync::MutexGuard<'static, ()> {
    TREE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[test]
fn generated_tree_is_up_to_date() {
    let _tree = lock_tree();
    let expected = generate();
    if std::env::var_os("KUBEGATE_UPDATE_FIXTURES").is_some() {
        let _ = std::fs::remove_dir_all(root());
        for (rel, text) in &expected {
            let path = root().join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write fixture");
        }
    }
    let mut actual = BTreeMap::new();
    on_disk(&root(), "", &mut actual);
    let missing: Vec<_> = expected
        .keys()
        .filter(|k| actual.get(*k) != expected.get(*k))
        .collect();
    let extra: Vec<_> = actual
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "testdata/pss is stale ({} missing or different, {} extra, e.g. {:?} {:?}); \
         regenerate with KUBEGATE_UPDATE_FIXTURES=1 cargo test -p kubegate-engine --test integration pss_conformance::",
        missing.len(),
        extra.len(),
        missing.first(),
        extra.first()
    );
    assert!(
        expected.len() > 1500,
        "fixture tree unexpectedly small: {}",
        expected.len()
    );
}

/// `(check id, outcome, text)` of the fixtures in one directory.
fn fixtures_in(level: PssLevel, dir_minor: u32) -> Vec<(String, bool, String)> {
    let mut out = Vec::new();
    for outcome in ["pass", "fail"] {
        let mut files = BTreeMap::new();
        let dir = root()
            .join(level.as_str())
            .join(format!("v1.{dir_minor}"))
            .join(outcome);
        on_disk(&dir, "", &mut files);
        for (name, text) in files {
            out.push((
                name.trim_end_matches(".yaml").to_owned(),
                outcome == "pass",
                text,
            ));
        }
    }
    out
}

#[test]
fn every_pod_at_every_version() {
    let _tree = lock_tree();
    let mut judged = 0;
    let mut failures = Vec::new();
    for level in LEVELS {
        for minor in (0..=NEWEST_MINOR).map(Some).chain([None]) {
            let version = match minor {
                Some(m) => PssVersion::v1(m).expect("known version"),
                None => PssVersion::LATEST,
            };
            let dir_minor = DIRECTORIES
                .iter()
                .copied()
                .filter(|d| *d <= version.minor())
                .max()
                .unwrap_or(0);
            let settings = Settings {
                pss: PssSettings {
                    level: Some(level),
                    version,
                },
                ..Settings::default()
            };
            let checker = Checker::builtin(&["pss".to_string()], settings).expect("checker");
            for (stem, pass, text) in fixtures_in(level, dir_minor) {
                let (manifests, errors) = Loader::default().load_text(&stem, text);
                assert!(errors.is_empty(), "{stem}: {errors:?}");
                let report = checker.check(&Loaded {
                    manifests,
                    errors,
                    files: 1,
                    ..Default::default()
                });
                // The fixtures have upstream's shape, made for Pod Security admission, not for the
                // API server (names with `_`, a volume without a source): the always-on
                // api-server pack's findings on them are beside the point here.
                let found: Vec<&str> = report
                    .findings
                    .iter()
                    .filter(|f| {
                        kubegate_engine::registry::find(&f.rule_id)
                            .is_none_or(|m| m.category != kubegate_engine::Category::ApiServer)
                    })
                    .map(|f| f.rule_id.as_ref())
                    .collect();
                judged += 1;
                let here = format!("{}:{version} {stem}", level.as_str());
                if pass {
                    if !found.is_empty() {
                        failures.push(format!("{here}: expected to pass, got {found:?}"));
                    }
                    continue;
                }
                let check = CHECKS.iter().find(|(id, ..)| {
                    stem.trim_end_matches(|c: char| c.is_ascii_digit()) == id.to_ascii_lowercase()
                });
                let Some((_, _, _, rules)) = check else {
                    failures.push(format!("{here}: unknown check"));
                    continue;
                };
                if found.is_empty() {
                    failures.push(format!("{here}: expected to fail, passed"));
                } else if let Some(other) = found.iter().find(|r| !rules.contains(r)) {
                    failures.push(format!(
                        "{here}: unexpected {other} (expected only {rules:?})"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {judged} judgements disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(judged > 4000, "judged only {judged} pods");
}

/// A small block-style YAML writer for the fixtures. Strings are always double-quoted (JSON
/// escapes are valid YAML), so no scalar can change type when read back.
fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    write_node(value, 0, &mut out, false);
    out
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        Value::Object(m) if m.is_empty() => "{}".into(),
        Value::Array(a) if a.is_empty() => "[]".into(),
        other => other.to_string(),
    }
}

fn is_block(value: &Value) -> bool {
    matches!(value, Value::Object(m) if !m.is_empty())
        || matches!(value, Value::Array(a) if !a.is_empty())
}

fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c))
    {
        k.to_owned()
    } else {
        serde_json::to_string(k).unwrap_or_default()
    }
}

/// Writes a mapping or sequence whose first line continues the current line when `inline`.
fn write_node(value: &Value, indent: usize, out: &mut String, inline: bool) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (i, (k, v)) in map.iter().enumerate() {
                if !(inline && i == 0) {
                    out.push_str(&pad);
                }
                out.push_str(&key(k));
                out.push(':');
                if is_block(v) {
                    out.push('\n');
                    write_node(v, indent + 2, out, false);
                } else {
                    out.push(' ');
                    out.push_str(&scalar(v));
                    out.push('\n');
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if !(inline && i == 0) {
                    out.push_str(&pad);
                }
                out.push_str("- ");
                if is_block(item) {
                    write_node(item, indent + 2, out, true);
                } else {
                    out.push_str(&scalar(item));
                    out.push('\n');
                }
            }
        }
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}
