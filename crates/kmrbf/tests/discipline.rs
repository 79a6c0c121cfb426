//! Rules of the source itself: every `unsafe fn` says when it may be called, and the modules
//! form no import cycle.

mod common;

/// Each `unsafe fn` of the library has a `# Safety` section in the doc comment above it
/// (attributes may sit between), and the crate denies `unsafe_op_in_unsafe_fn`.
#[test]
fn every_unsafe_fn_has_a_safety_section() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    assert!(lib.contains("#![deny(unsafe_op_in_unsafe_fn)]"));
    let paths = common::rust_files(&src);
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

/// The library's modules (`a::b` for `src/a/b.rs` or `src/a/b/mod.rs`) and their source.
fn modules() -> std::collections::BTreeMap<String, String> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    common::rust_files(&src)
        .into_iter()
        .filter_map(|p| {
            let rel = p.strip_prefix(&src).unwrap().with_extension("");
            let mut name = rel.to_string_lossy().replace('/', "::");
            if let Some(parent) = name.strip_suffix("::mod") {
                name = parent.to_string();
            }
            (name != "lib").then(|| (name, std::fs::read_to_string(&p).unwrap()))
        })
        .collect()
}

/// The modules `text` (module `name`) refers to through `crate::` and `super::` paths, comments
/// left out (doc links do not make a dependency).
fn references(
    name: &str,
    text: &str,
    all: &std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let resolve = |path: Vec<&str>| -> Option<String> {
        (1..=path.len())
            .rev()
            .map(|i| path[..i].join("::"))
            .find(|m| all.contains_key(m))
    };
    let own: Vec<&str> = name.split("::").collect();
    let mut out = std::collections::BTreeSet::new();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    // The `a::b::c` path at the start of `rest`.
    let path_at = |rest: &str| -> Vec<String> {
        rest.split(|c: char| !(is_ident(c) || c == ':'))
            .next()
            .unwrap()
            .split("::")
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        if i > 0 && code[..i].ends_with(|c: char| is_ident(c) || c == ':') {
            continue;
        }
        let path = path_at(&code[i + 7..]);
        out.extend(resolve(path.iter().map(String::as_str).collect()));
    }
    // `super::` inside a file's inline modules (`mod imp`, `mod x86`) is taken as the file's
    // own parent or the file itself; both readings are tried, which can only add edges.
    for (i, _) in code.match_indices("super::") {
        if i > 0 && code[..i].ends_with(|c: char| is_ident(c) || c == ':') {
            continue;
        }
        let mut rest = &code[i..];
        let mut ups = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            ups += 1;
            rest = r;
        }
        let tail = path_at(rest);
        for extra in [0, 1] {
            let keep = (own.len() + extra).checked_sub(ups);
            if let Some(keep) = keep.filter(|&k| k <= own.len()) {
                let mut path: Vec<&str> = own[..keep].to_vec();
                path.extend(tail.iter().map(String::as_str));
                out.extend(resolve(path));
            }
        }
    }
    out.remove(name);
    out
}

/// No import cycle between the library's modules, and the kernels refer to nothing outside
/// `kernels` but the scalar trait (`real`) and the error type (`error`).
#[test]
fn modules_form_no_cycle_and_kernels_stay_below_the_models() {
    let all = modules();
    let graph: std::collections::BTreeMap<&String, std::collections::BTreeSet<String>> = all
        .iter()
        .map(|(name, text)| (name, references(name, text, &all)))
        .collect();
    for (name, refs) in &graph {
        if name.starts_with("kernels") {
            let outside: Vec<&String> = refs
                .iter()
                .filter(|r| !r.starts_with("kernels") && *r != "real" && *r != "error")
                .collect();
            assert!(outside.is_empty(), "{name} refers to {outside:?}");
        }
    }
    // Depth-first search for a back edge.
    fn visit<'a>(
        n: &'a String,
        g: &'a std::collections::BTreeMap<&String, std::collections::BTreeSet<String>>,
        state: &mut std::collections::BTreeMap<&'a String, u8>,
        stack: &mut Vec<&'a String>,
    ) {
        state.insert(n, 1);
        stack.push(n);
        for m in &g[n] {
            match state.get(m).copied().unwrap_or(0) {
                1 => panic!("import cycle: {stack:?} -> {m}"),
                0 => visit(m, g, state, stack),
                _ => {}
            }
        }
        stack.pop();
        state.insert(n, 2);
    }
    let mut state = std::collections::BTreeMap::new();
    for n in graph.keys() {
        if !state.contains_key(n) {
            visit(n, &graph, &mut state, &mut Vec::new());
        }
    }
    assert!(graph.len() > 40, "found only {} modules", graph.len());
}
