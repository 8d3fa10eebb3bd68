//! Helpers shared by the end-to-end tests: run the `baken` binary on a data directory.

#![allow(dead_code)] // each test file uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use baken_demo::generate::{Generated, Params, generate};

/// The binary under test.
pub fn baken() -> Command {
    Command::new(env!("CARGO_BIN_EXE_baken"))
}

/// Runs `baken --data DATA ARGS…`, asserting success; returns stdout.
pub fn run_ok(data: &Path, args: &[&str]) -> String {
    let out = run(data, args);
    assert!(
        out.status.success(),
        "baken {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Runs `baken --data DATA ARGS…`.
pub fn run(data: &Path, args: &[&str]) -> Output {
    baken()
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("the baken binary runs")
}

/// Generates a small synthetic world (the demo's generator) and imports registry, routing
/// and RPSL data into `data`.
pub fn small_world(dir: &Path, data: &Path, orgs: u32) -> Generated {
    let g = generate(&Params { orgs, seed: 7 }, dir).expect("generate");
    run_ok(data, &["registry", "import", s(&g.registry)]);
    run_ok(data, &["registry", "import-routing", s(&g.pfx2as)]);
    run_ok(data, &["registry", "import-rpsl", s(&g.rpsl)]);
    g
}

/// A path as &str.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Files in `dir` with extension `ext`, sorted.
pub fn files_with(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == ext))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// One IntelMQ event of a Citrix scan at `time`, or, with `identifier`, of that
/// classification and no CVE.
pub fn scan_event(ip: &str, time: &str, identifier: Option<&str>) -> serde_json::Value {
    let mut e = serde_json::json!({
        "feed.name": "scan-citrix",
        "time.source": time,
        "source.ip": ip,
        "source.port": 443,
        "protocol.transport": "tcp",
        "classification.taxonomy": "vulnerable",
        "classification.type": "vulnerable-system",
    });
    match identifier {
        Some(id) => e["classification.identifier"] = serde_json::json!(id),
        None => {
            e["classification.identifier"] = serde_json::json!("citrix");
            e["product.vulnerabilities"] = serde_json::json!("CVE-2019-19781");
        }
    }
    e
}

/// The messages of `baken notify --json ARGS…` (every incident's digests, in order).
pub fn notify_digests(data: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["notify", "--json"];
    all.extend_from_slice(args);
    let out = run_ok(data, &all);
    let outcomes: Vec<serde_json::Value> =
        serde_json::from_str(&out).expect("notify --json prints JSON");
    outcomes
        .iter()
        .flat_map(|o| o["digests"].as_array().expect("digests").clone())
        .collect()
}

/// The number in the environment variable `name`, else `default`.
pub fn env_or(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, got {v:?}")),
        Err(_) => default,
    }
}

/// SplitMix64: a seeded pseudo-random sequence (std only).
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn fraction(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        (self.fraction() * n as f64) as usize
    }
}
