//! The library's module graph, derived from its source: no file imports a
//! file that imports it back (directly or through others), and each layer
//! uses only the layers below it:
//!
//! support < config < drivers < engine < operations
//!
//! The graph is read from the `crate::` paths in each file (`use` lines and
//! paths written inline), with `super::` resolved, leaving out the
//! `#[cfg(test)]` module at the end of a file (a test may reach up to build
//! what it needs). A path names the deepest module file it reaches.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const LAYERS: [&str; 5] = ["support", "config", "drivers", "engine", "operations"];

type Module = Vec<String>;

/// Every module file under `src`, by module path (`lib.rs` is the empty one).
fn modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut found = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut module: Module = rel
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if module.last().is_some_and(|l| l == "mod" || l == "lib") {
                module.pop();
            }
            found.insert(module, path);
        }
    }
    found
}

/// The code of a file without its trailing `#[cfg(test)]` module.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// The paths written in `code` that start with `crate`, `super` or `self`,
/// with `use a::{b, c::d}` groups spread out.
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let starts = ["crate::", "super::", "self::"]
            .iter()
            .any(|p| code_at(&bytes, i).starts_with(p));
        let boundary = i == 0
            || !(bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_' || bytes[i - 1] == ':');
        if starts && boundary {
            let (found, end) = path_at(&bytes, i);
            out.extend(found);
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

fn code_at(chars: &[char], i: usize) -> String {
    chars[i..chars.len().min(i + 8)].iter().collect()
}

/// Reads one path (with a possible `{...}` group) from `i`.
fn path_at(chars: &[char], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let mut segs = Vec::new();
    let mut word = String::new();
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            i += 1;
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            segs.push(std::mem::take(&mut word));
            i += 2;
        } else if c == '{' && word.is_empty() {
            let close = group_end(chars, i);
            let inner: String = chars[i + 1..close].iter().collect();
            let mut out = Vec::new();
            for part in split_top(&inner) {
                let part = part.trim();
                let inner_chars: Vec<char> = part.chars().collect();
                let (subs, _) = path_at(&inner_chars, 0);
                for sub in subs {
                    let mut full = segs.clone();
                    full.extend(sub.into_iter().filter(|s| s != "self"));
                    out.push(full);
                }
            }
            return (out, close + 1);
        } else {
            break;
        }
    }
    if !word.is_empty() {
        segs.push(word);
    }
    (vec![segs], i)
}

fn group_end(chars: &[char], open: usize) -> usize {
    let mut depth = 0;
    for (j, c) in chars.iter().enumerate().skip(open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return j;
                }
            }
            _ => {}
        }
    }
    chars.len() - 1
}

fn split_top(text: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut depth = 0;
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(String::new());
                continue;
            }
            _ => {}
        }
        parts.last_mut().unwrap().push(c);
    }
    parts
}

/// The module a path written in `from` names: the deepest module file on it.
fn target(
    from: &Module,
    is_dir: bool,
    path: &[String],
    all: &BTreeMap<Module, PathBuf>,
) -> Option<Module> {
    let mut base: Module = Vec::new();
    let mut rest = path;
    match path.first().map(String::as_str) {
        Some("crate") => rest = &path[1..],
        Some("super") | Some("self") => {
            base = from.clone();
            if !is_dir {
                base.pop();
            }
            while let Some(first) = rest.first() {
                match first.as_str() {
                    "super" if is_dir || base.len() < from.len() => {
                        base.pop();
                    }
                    "super" => {}
                    "self" => {}
                    _ => break,
                }
                rest = &rest[1..];
            }
            if path[0] == "self" && !is_dir {
                base = from.clone();
            }
        }
        _ => return None,
    }
    let mut full = base;
    full.extend(rest.iter().cloned());
    (1..=full.len())
        .rev()
        .map(|n| full[..n].to_vec())
        .find(|m| all.contains_key(m))
}

fn graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let all = modules(&src);
    let mut edges = BTreeMap::new();
    for (module, file) in &all {
        let is_dir = file.ends_with("mod.rs") || file.ends_with("lib.rs");
        let deps: BTreeSet<Module> = paths(&code(file))
            .iter()
            .filter_map(|p| target(module, is_dir, p, &all))
            .filter(|t| t != module && !t.is_empty())
            .collect();
        edges.insert(module.clone(), deps);
    }
    edges
}

fn name(m: &Module) -> String {
    m.join("/")
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let edges = graph();
    let mut cycles = Vec::new();
    for start in edges.keys() {
        // A path back to `start` from any of its imports is a cycle.
        let mut seen = BTreeSet::new();
        let mut stack: Vec<(Module, Vec<Module>)> = edges[start]
            .iter()
            .map(|d| (d.clone(), vec![start.clone(), d.clone()]))
            .collect();
        while let Some((at, trail)) = stack.pop() {
            if &at == start {
                cycles.push(trail.iter().map(name).collect::<Vec<_>>().join(" -> "));
                break;
            }
            if !seen.insert(at.clone()) {
                continue;
            }
            for next in edges.get(&at).into_iter().flatten() {
                let mut t = trail.clone();
                t.push(next.clone());
                stack.push((next.clone(), t));
            }
        }
    }
    assert!(cycles.is_empty(), "import circles:\n{}", cycles.join("\n"));
}

#[test]
fn each_layer_uses_only_the_layers_below() {
    let layer = |m: &Module| {
        m.first()
            .and_then(|top| LAYERS.iter().position(|l| l == top))
    };
    let mut upward = Vec::new();
    for (from, deps) in graph() {
        let Some(own) = layer(&from) else { continue };
        for dep in deps {
            if layer(&dep).is_some_and(|theirs| theirs > own) {
                upward.push(format!("{} uses {}", name(&from), name(&dep)));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "a layer uses one above it:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_graph_is_read_from_the_source() {
    // The checks above would pass on an empty graph: make sure it is not.
    let edges = graph();
    let run = edges
        .get(&vec!["engine".to_string(), "run".to_string()])
        .expect("engine/run");
    let plan_model = ["engine", "plan", "model"].map(String::from).to_vec();
    assert!(run.contains(&plan_model));
    assert!(edges.len() > 60, "{} modules", edges.len());
}
