//! sae-probes datasets (PyPI `sae-probes==0.4.2`, `data/cleaned_data/*.csv`): one text
//! per row (`prompt`) with a document-level concept label (`target`; the values are
//! strings such as `0`/`1`, `True`/`False` or class names, kept as strings).
//!
//! The CSV dialect is RFC 4180: comma-separated, fields optionally in double quotes,
//! `""` inside quotes is a quote, quoted fields may span lines. Other columns are ignored.

use anyhow::{Context, Result, bail, ensure};
use std::path::Path;

/// One labelled text.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledText {
    pub prompt: String,
    pub target: String,
}

/// Splits RFC 4180 CSV text into records of fields.
pub fn parse_csv(text: &str) -> Result<Vec<Vec<String>>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut line = 1usize;
    let mut in_quotes = false;
    let mut field_started = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                c => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
            }
            continue;
        }
        match c {
            '"' if !field_started => {
                in_quotes = true;
                field_started = true;
            }
            '"' => bail!("line {line}: quote inside an unquoted field"),
            ',' => {
                record.push(std::mem::take(&mut field));
                field_started = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                line += 1;
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                field_started = false;
            }
            c => {
                field.push(c);
                field_started = true;
            }
        }
    }
    ensure!(
        !in_quotes,
        "line {line}: quoted field not closed at end of file"
    );
    if field_started || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

/// Reads one dataset file: rows of (`prompt`, `target`), found by header name.
pub fn read_dataset(path: &Path) -> Result<Vec<LabelledText>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let records = parse_csv(&text).with_context(|| format!("parsing CSV {}", path.display()))?;
    let Some((header, rows)) = records.split_first() else {
        bail!("{}: empty CSV", path.display());
    };
    let col = |name: &str| {
        header.iter().position(|h| h == name).with_context(|| {
            format!(
                "{}: no '{name}' column (header: {header:?})",
                path.display()
            )
        })
    };
    let (p, t) = (col("prompt")?, col("target")?);
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            ensure!(
                r.len() == header.len(),
                "{}: record {} has {} fields, the header {}",
                path.display(),
                i + 2,
                r.len(),
                header.len()
            );
            Ok(LabelledText {
                prompt: r[p].clone(),
                target: r[t].clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_with_commas_quotes_and_newlines() {
        let csv = "\"prompt\",\"prompt_len\",\"target\"\n\"a, \"\"b\"\"\nc\",3,1\r\nplain,1,0\n";
        let r = parse_csv(csv).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[1], vec!["a, \"b\"\nc", "3", "1"]);
        assert_eq!(r[2], vec!["plain", "1", "0"]);
    }

    #[test]
    fn unclosed_quote_names_the_line() {
        let e = parse_csv("a\n\"b\nc").unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
    }

    #[test]
    fn dataset_by_header_names() {
        let dir = std::env::temp_dir().join(format!("rdpbench-lm-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("1_x.csv");
        std::fs::write(&path, "target,prompt\nyes,\"hi, there\"\nno,bye\n").unwrap();
        let d = read_dataset(&path).unwrap();
        assert_eq!(
            d[0],
            LabelledText {
                prompt: "hi, there".into(),
                target: "yes".into()
            }
        );
        assert_eq!(d[1].target, "no");
        std::fs::write(&path, "text,label\nx,1\n").unwrap();
        let e = read_dataset(&path).unwrap_err();
        assert!(e.to_string().contains("no 'prompt' column"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
