//! Rules of the source itself: every `unsafe fn` says when it may be called.

/// Every `.rs` file under `dir`, recursively.
fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Each `unsafe fn` of the library has a `# Safety` section in the doc comment above it
/// (attributes may sit between), and the crate denies `unsafe_op_in_unsafe_fn`.
#[test]
fn every_unsafe_fn_has_a_safety_section() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    assert!(lib.contains("#![deny(unsafe_op_in_unsafe_fn)]"));
    let mut paths = Vec::new();
    files(&src, &mut paths);
    let (mut seen, mut missing) = (0, Vec::new());
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_start();
            if t.starts_with("//") || t.starts_with("type ") || !t.contains("unsafe fn ") {
                continue;
            }
            seen += 1;
            let documented = lines[..i]
                .iter()
                .rev()
                .take_while(|l| {
                    let l = l.trim_start();
                    l.starts_with("///") || l.starts_with("#[") || l.starts_with("//")
                })
                .any(|l| l.contains("# Safety"));
            if !documented {
                missing.push(format!("{}:{}", path.display(), i + 1));
            }
        }
    }
    assert!(seen >= 90, "found only {seen} unsafe fns");
    assert!(missing.is_empty(), "no # Safety section: {missing:#?}");
}
