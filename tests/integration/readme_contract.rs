//! The README's "Headless mode" section documents the NDJSON records (the client's, in
//! `crates/chanwatch-core/src/record.rs`, and the session's, in `src/session_record.rs`) and
//! the stdin commands of `src/session/command.rs`. These tests keep the two in step: every example must parse as the type
//! it documents and serialise back to the same JSON, and every record type and command must
//! have a table row and an example.

use chanwatch::session::Command;
use chanwatch::session_record::{SessionRecord, Stamped};
use serde_json::Value;
use std::collections::BTreeSet;

const README: &str = include_str!("../../README.md");
const CLIENT_RECORD_RS: &str = include_str!("../../crates/chanwatch-core/src/record.rs");
const SESSION_RECORD_RS: &str = include_str!("../../src/session_record.rs");
const COMMAND_RS: &str = include_str!("../../src/session/command.rs");

/// The text of the README section that starts with `heading` and runs to the next heading
/// of the same or a higher level.
fn section(heading: &str) -> &'static str {
    let start = README
        .find(heading)
        .unwrap_or_else(|| panic!("README has no {heading:?} section"));
    let level = heading.chars().take_while(|c| *c == '#').count();
    let body = &README[start + heading.len()..];
    let end = body
        .match_indices("\n#")
        .find(|(i, _)| {
            let hashes = body[i + 1..].chars().take_while(|c| *c == '#').count();
            hashes <= level
        })
        .map(|(i, _)| i)
        .unwrap_or(body.len());
    &body[..end]
}

/// The lines of the ```json blocks in `text`.
fn json_example_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        match (inside, line.trim()) {
            (false, "```json") => inside = true,
            (true, "```") => inside = false,
            (true, l) if !l.is_empty() => lines.push(l),
            _ => {}
        }
    }
    lines
}

/// The first-column names (`` `name` ``) of the markdown table rows in `text`.
fn table_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`'))
        .map(|(name, _)| name.to_string())
        .filter(|name| name != "type" && name != "cmd")
        .collect()
}

/// The record types: the variant names of the client's `Record` and of `SessionRecord`
/// (less `Client`, which wraps the former), in snake_case as serde renames them.
fn record_types() -> BTreeSet<String> {
    let mut types = enum_variants(CLIENT_RECORD_RS, "pub enum Record {");
    types.extend(enum_variants(SESSION_RECORD_RS, "pub enum SessionRecord {"));
    assert!(
        types.remove("client"),
        "SessionRecord wraps the client's records"
    );
    types
}

/// The variant names of `Record` (see [`record_types`]) or `Command` (the flat stdin shape,
/// `enum Wire` in src/session/command.rs), in snake_case as serde renames them. Reading the
/// source keeps this test from needing a list that could itself go stale.
fn variants(name: &str) -> BTreeSet<String> {
    match name {
        "Record" => record_types(),
        "Command" => enum_variants(COMMAND_RS, "enum Wire {"),
        other => panic!("no source known for {other}"),
    }
}

fn enum_variants(source: &str, header: &str) -> BTreeSet<String> {
    let start = source
        .find(header)
        .unwrap_or_else(|| panic!("the source has no {header:?}"));
    let body = &source[start + header.len()..];
    let body = &body[..body.find("\n}").expect("enum ends")];
    body.lines()
        .filter(|l| l.starts_with("    ") && !l.starts_with("     "))
        .map(str::trim)
        .filter(|l| l.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(|l| {
            let ident: String = l
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            snake_case(&ident)
        })
        .collect()
}

fn snake_case(ident: &str) -> String {
    let mut out = String::new();
    for (i, c) in ident.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn the_variant_reader_sees_known_variants() {
    // Guards the source reading itself: if it broke, the tests below would compare nothing.
    let records = variants("Record");
    for known in [
        "state",
        "connecting_in",
        "subscription_error",
        "ping_sent",
        "pong",
    ] {
        assert!(records.contains(known), "{known} missing from {records:?}");
    }
    let commands = variants("Command");
    for known in ["subscribe", "trigger", "quit"] {
        assert!(
            commands.contains(known),
            "{known} missing from {commands:?}"
        );
    }
    assert_eq!(snake_case("SubscriptionError"), "subscription_error");
}

#[test]
fn record_examples_parse_and_serialise_back_unchanged() {
    let lines = json_example_lines(section("### Records"));
    assert!(!lines.is_empty(), "no record examples");
    let mut types = BTreeSet::new();
    for line in lines {
        let written: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("README record example is not JSON ({e}): {line}"));
        let ts = written["ts"]
            .as_str()
            .unwrap_or_else(|| panic!("README record example without ts: {line}"));
        let ts = humantime::parse_rfc3339(ts)
            .unwrap_or_else(|e| panic!("README record example ts is not RFC 3339 ({e}): {line}"));
        let record: SessionRecord = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("README record example does not parse ({e}): {line}"));
        let again: Value = serde_json::from_str(
            &Stamped {
                node: written["node"].as_str().map(Into::into),
                ts,
                record,
            }
            .to_json_line(),
        )
        .unwrap();
        assert_eq!(
            again, written,
            "README record example has fields the record does not: {line}"
        );
        types.insert(written["type"].as_str().unwrap().to_string());
    }
    assert_eq!(
        types,
        variants("Record"),
        "README record examples vs record types"
    );
}

#[test]
fn every_record_type_has_a_table_row() {
    assert_eq!(
        table_names(section("### Records")),
        variants("Record"),
        "README record table vs record types"
    );
}

#[test]
fn command_examples_parse_and_serialise_back_unchanged() {
    let lines = json_example_lines(section("### Commands"));
    assert!(!lines.is_empty(), "no command examples");
    let mut cmds = BTreeSet::new();
    for line in lines {
        let written: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("README command example is not JSON ({e}): {line}"));
        let command: Command = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("README command example does not parse ({e}): {line}"));
        let again = serde_json::to_value(&command).unwrap();
        assert_eq!(
            again, written,
            "README command example has fields the command does not: {line}"
        );
        cmds.insert(written["cmd"].as_str().unwrap().to_string());
    }
    assert_eq!(
        cmds,
        variants("Command"),
        "README command examples vs commands"
    );
}

#[test]
fn every_command_has_a_table_row() {
    assert_eq!(
        table_names(section("### Commands")),
        variants("Command"),
        "README command table vs commands"
    );
}
