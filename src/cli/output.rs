//! What commands print: aligned, width-padded tables for people, JSON for scripts. Everything goes to
//! stdout through one locked writer; a closed pipe surfaces as `CliError::Output`.

use super::error::{output, CliError};
use std::io::Write;

/// Prints `rows` under `headers`, each column padded to its widest cell (two spaces between).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> Result<(), CliError> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| -> std::io::Result<()> {
        let padded: Vec<String> = cells
            .zip(&widths)
            .map(|(c, &w)| format!("{c:<w$}"))
            .collect();
        writeln!(out, "{}", padded.join("  ").trim_end())
    };
    line(&mut headers.iter().copied()).map_err(output)?;
    for row in rows {
        line(&mut row.iter().map(String::as_str)).map_err(output)?;
    }
    Ok(())
}

/// Prints a line of text.
pub fn line(text: &str) -> Result<(), CliError> {
    writeln!(std::io::stdout().lock(), "{text}").map_err(output)
}

/// Prints `value` as pretty JSON.
pub fn json(value: &serde_json::Value) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).expect("a JSON value always serializes");
    line(&text)
}

/// A list of broker ids, `1,2,3`.
pub fn ids(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}
