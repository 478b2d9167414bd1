//! What commands print: aligned, width-padded tables for people, JSON for scripts. Everything goes to
//! stdout through one locked writer; a closed pipe surfaces as `CliError::Output`.

use super::error::{output, CliError};
use std::io::Write;

/// Prints `rows` under `headers`, each column padded to its widest cell (two spaces between).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> Result<(), CliError> {
    write!(std::io::stdout().lock(), "{}", render(headers, rows)).map_err(output)
}

fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let padded: Vec<String> = cells
            .zip(&widths)
            .map(|(c, &w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    let mut text = line(&mut headers.iter().copied());
    for row in rows {
        text += &line(&mut row.iter().map(String::as_str));
    }
    text
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_padded_to_their_widest_cell() {
        let rows = vec![
            vec!["orders".to_string(), "3".to_string()],
            vec!["a".to_string(), "12".to_string()],
        ];
        assert_eq!(
            render(&["TOPIC", "PARTITIONS"], &rows),
            "TOPIC   PARTITIONS\norders  3\na       12\n"
        );
    }
}
