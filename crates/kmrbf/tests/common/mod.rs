//! Helpers shared by the integration tests.
#![allow(dead_code)]

/// Reads a built-in CSV data set of the repo (header row, then numbers).
pub fn load_csv(name: &str) -> (Vec<f64>, usize, usize) {
    let path = format!("{}/../../data/{name}.csv", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("data file");
    let mut x = Vec::new();
    let mut n = 0;
    let mut d = 0;
    for line in text.lines().skip(1) {
        let row: Vec<f64> = line.split(',').map(|s| s.trim().parse().unwrap()).collect();
        d = row.len();
        x.extend(row);
        n += 1;
    }
    (x, n, d)
}

/// `k` rows of `x` picked with a seeded stride, as initial centers.
pub fn pick_rows(x: &[f64], n: usize, d: usize, k: usize, seed: u64) -> Vec<f64> {
    let mut rng = kmrbf::rng::Rng::new(seed);
    let mut chosen = Vec::new();
    while chosen.len() < k {
        let i = rng.below(n);
        if !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    chosen
        .iter()
        .flat_map(|&i| x[i * d..(i + 1) * d].to_vec())
        .collect()
}

/// Largest absolute difference.
pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Largest absolute value.
pub fn scale(x: &[f64]) -> f64 {
    x.iter().fold(0.0f64, |m, v| m.max(v.abs()))
}

/// Runs `f` on a pool of `threads` threads.
pub fn with_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// Every instruction-set tier this machine runs, narrowest first; the tiers it cannot run are
/// printed once per test (run the tests with `--nocapture` to see them), so a skipped tier is
/// never silent.
pub fn tiers(test: &str) -> Vec<kmrbf::Isa> {
    let here = kmrbf::Isa::supported();
    let missing: Vec<&str> = kmrbf::Tier::ALL
        .iter()
        .filter(|t| !here.iter().any(|i| i.tier() == **t))
        .map(|t| t.name())
        .collect();
    static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if !missing.is_empty() && !said.iter().any(|t| t == test) {
        said.push(test.to_string());
        eprintln!("{test}: tiers not run on this CPU: {}", missing.join(", "));
    }
    here
}

/// Every `.rs` file under `dir`, recursively (the tests that read the library's source).
pub fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}
