//! The README's walk-through, run as written: the shell block between the `walkthrough`
//! markers runs in a scratch directory holding a copy of `data/`, with `kmrbf` on the PATH.

mod common;

use common::*;
use std::path::Path;

fn walkthrough() -> String {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("<!-- walkthrough -->")
        .expect("README has the walkthrough marker");
    let end = readme
        .find("<!-- /walkthrough -->")
        .expect("README has the end marker");
    let block = &readme[start..end];
    let body = block
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a ```sh block between the markers");
    body.to_string()
}

#[test]
fn the_readme_walkthrough_runs_as_written() {
    let script = walkthrough();
    let commands = script
        .lines()
        .filter(|l| l.trim_start().starts_with("kmrbf "))
        .count();
    assert_eq!(commands, 5, "five kmrbf commands:\n{script}");
    let dir = Dir::new("readme");
    std::fs::create_dir(dir.path("data")).unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::copy(repo.join("data/iris.csv"), dir.path("data/iris.csv")).unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_kmrbf")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(&dir.0)
        .env("PATH", path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for f in [
        "model.json",
        "labels.npy",
        "predicted.npy",
        "objective.json",
        "resp.npy",
        "annealed.json",
        "trace.csv",
    ] {
        assert!(dir.path(f).is_file(), "{f} missing; stderr:\n{stderr}");
        assert!(
            stderr.contains(f),
            "no line says {f} was written:\n{stderr}"
        );
    }
    // The walk-through's outputs agree with each other.
    assert_eq!(
        read_labels(&dir.path("labels.npy")),
        read_labels(&dir.path("predicted.npy"))
    );
    let (m, o) = (
        json(&dir.path("model.json")),
        json(&dir.path("objective.json")),
    );
    let (j, inertia) = (o["J"].as_f64().unwrap(), m["inertia"].as_f64().unwrap());
    assert!(
        (j - inertia).abs() <= 1e-9 * inertia,
        "J {j} vs inertia {inertia}"
    );
    let (r, _) = read_npy(&dir.path("resp.npy"));
    assert_eq!(r.len(), 150 * 3);
    let a = json(&dir.path("annealed.json"));
    let last = a["settings"]["stages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["discrepancy"].as_f64(), Some(0.0), "{last}");
}
