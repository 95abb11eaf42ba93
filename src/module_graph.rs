//! Imports between each crate's top-level modules run one way, down the layers below (the
//! client crate's and the binary's; that the client crate imports nothing of the binary, and
//! no terminal or command-line crate, Cargo itself enforces). This test reads the sources
//! (every `crate::<module>` path outside comments, tests included) and fails on any import
//! that goes up or sideways, which also rules out every cycle. A new top-level module has
//! to be placed in a layer before the test passes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The client crate's layers, lowest first. A module may import modules of lower layers
/// only (and nothing of the binary crate: Cargo enforces that).
const CORE_LAYERS: &[&[&str]] = &[
    // The wire: frames, channel names, close codes, raw JSON; what is shown of a configured
    // value; files read with a size cap.
    &["protocol", "mask", "input_file"],
    // What the client reports, the payload cipher, named request values (masked).
    &["record", "crypto", "pairs"],
    // The sans-IO connection machine and the commands it takes.
    &["connection"],
    // The CAs trusted, and HTTP bodies read with a cap.
    &["tls", "http_client"],
    // Channel authorization and user authentication.
    &["auth"],
    // The signed HTTP API.
    &["http_api"],
    // The client task: the machine against a real socket, clock and authorizer.
    &["client"],
];

/// The binary crate's layers, lowest first, over `chanwatch_core`.
const LAYERS: &[&[&str]] = &[
    // How a panic is reported, and how a file of the user's is opened (never through a
    // symlink, always 0600), which every layer may need.
    &["panic_report", "private_file"],
    // The kinds of fault that can be injected (the proxy itself uses nothing of ours).
    &["faults"],
    // Webhook requests checked and what our connection should cause; the delivery matrix
    // and presence compared across nodes (both pure).
    &["webhook", "cluster"],
    // What a session reports: the client's records and its own.
    &["session_record"],
    // Live measures and the latency probe's bookkeeping, fed by records (sans-IO).
    &["stats", "probe"],
    // The keymap and the theme a user may set.
    &["prefs"],
    // Configuration from files, environment and flags, with every default.
    &["config"],
    // Occupancy polling through the HTTP API, and its table.
    &["occupancy"],
    // What may stand beside a client: the demo server (the fault proxy is lower down).
    &["demo"],
    // The webhook receiver beside a session.
    &["webhook_server"],
    // The client plus its fault proxy, demo server and HTTP API; all commands.
    &["session"],
    // A recording of a session, and reading one back for replay.
    &["recording", "metrics"],
    &["replay"],
    // The two watchers of a session.
    &["headless", "ui"],
    // Flags, and the wiring from flags (or the demo) to a session.
    &["cli"],
    // Completions and the man page, made from the flags.
    &["setup", "manual"],
    // The one-shot check, over a session's setup.
    &["check"],
];

fn layer_of(layers: &[&[&str]], module: &str) -> Option<usize> {
    layers.iter().position(|layer| layer.contains(&module))
}

/// The source folders checked, with their layers.
fn crates() -> [(PathBuf, &'static [&'static [&'static str]]); 2] {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        (root.join("crates/chanwatch-core/src"), CORE_LAYERS),
        (root.join("src"), LAYERS),
    ]
}

/// Every `.rs` file of a top-level module: `src/<m>.rs` and everything under `src/<m>/`.
fn files_of(src: &Path, module: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let file = src.join(format!("{module}.rs"));
    if file.is_file() {
        files.push(file);
    }
    let mut dirs = vec![src.join(module)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// The top-level modules named by `crate::<name>` or inside `crate::{...}` in `text`,
/// comment lines skipped (doc links name modules without depending on them).
fn imported(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .flat_map(|line| [line, "\n"])
        .collect();
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        // `$crate::` is a macro's own crate; `xcrate::` is another name.
        if code[..i].ends_with(|c: char| c == '$' || c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The first name of each top-level item of the group.
            let mut depth = 0;
            let mut start = 0;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        out.insert(ident(&group[start..j]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(ident(&group[start..j]));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out.remove("");
    out
}

/// Module -> the other top-level modules of its crate that it imports.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut modules = BTreeSet::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() || path.extension().is_some_and(|e| e == "rs") {
            modules.insert(name);
        }
    }
    // The crate root and the binary sit above everything; this test is not a module of
    // the crate's code.
    for top in ["lib", "main", "module_graph"] {
        modules.remove(top);
    }
    modules
        .iter()
        .map(|m| {
            let mut deps = BTreeSet::new();
            for file in files_of(src, m) {
                deps.extend(imported(&std::fs::read_to_string(&file).unwrap()));
            }
            deps.remove(m);
            (m.clone(), deps)
        })
        .collect()
}

/// The graph as text, one `module -> imports` line per module, for failure messages.
fn show(graph: &BTreeMap<String, BTreeSet<String>>) -> String {
    graph
        .iter()
        .map(|(m, deps)| {
            let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
            format!("{m} -> {}\n", deps.join(" "))
        })
        .collect()
}

/// One cycle of the graph, as a path that starts and ends at the same module.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|p| p == m) {
            let mut cycle = path[start..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for dep in graph.get(m).into_iter().flatten() {
            if let Some(cycle) = visit(dep, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|m| visit(m, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_module_graph_has_no_cycle() {
    for (src, _) in crates() {
        let graph = graph(&src);
        assert!(graph.len() > 5, "{} has too few modules", src.display());
        if let Some(cycle) = find_cycle(&graph) {
            panic!(
                "import cycle in {}: {}\n\nthe graph:\n{}",
                src.display(),
                cycle.join(" -> "),
                show(&graph)
            );
        }
    }
}

#[test]
fn imports_run_down_the_layers() {
    for (src, layers) in crates() {
        let graph = graph(&src);
        let mut wrong = Vec::new();
        for (m, deps) in &graph {
            let Some(layer) = layer_of(layers, m) else {
                wrong.push(format!("{m} is in no layer: add it to the layers"));
                continue;
            };
            for dep in deps {
                match layer_of(layers, dep) {
                    Some(l) if l < layer => {}
                    Some(_) => wrong.push(format!("{m} imports {dep}, which is not below it")),
                    None => wrong.push(format!("{m} imports {dep}, which is in no layer")),
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "{}: {}\n\nthe graph:\n{}",
            src.display(),
            wrong.join("\n"),
            show(&graph)
        );
    }
}

#[test]
fn the_reader_sees_imports_and_skips_comments() {
    let text = "use crate::record::{Record, State};\n\
                /// [`crate::demo::DemoHandle`]\n\
                let x = crate::faults::MAX_DELAY_MS; // crate::ui\n\
                $crate::nope\n\
                use crate::{\n    auth::{A, B},\n    client,\n};\n";
    let found: Vec<String> = imported(text).into_iter().collect();
    // The trailing comment is not skipped: a line's code and comment are not told apart.
    assert_eq!(found, ["auth", "client", "faults", "record", "ui"]);
}
