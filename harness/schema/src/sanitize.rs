//! The one sanitiser for text that may carry plugin strings on its way to
//! a person: a plugin's description, citation, error message or undefined
//! reason can hold terminal control sequences (ESC `[2J`, an OSC 8 link, a
//! bell, a carriage return that overwrites a line) or Unicode direction
//! overrides that reorder what is shown. Every text sink (terminal,
//! Markdown, CSV, HTML, JUnit) passes its output through [`neutralize_text`]
//! before it is printed or written; JSON escapes control characters itself.
//!
//! Neutralised characters are made visible instead of dropped, so nothing
//! is hidden: C0 controls become their Unicode control pictures (ESC →
//! `␛`, BEL → `␇`, CR → `␍`), DEL becomes `␡`, C1 controls and the
//! bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069)
//! become `\u{…}`.

use std::borrow::Cow;

/// Whether `c` is neutralised (`keep` lists the layout characters a
/// whole document may hold).
fn hostile(c: char, keep: &[char]) -> bool {
    !keep.contains(&c)
        && (c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
}

fn visible(c: char, out: &mut String) {
    match c {
        '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}')),
        '\u{7f}' => out.push('\u{2421}'),
        _ => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

fn neutralize_keeping<'a>(s: &'a str, keep: &[char]) -> Cow<'a, str> {
    if !s.chars().any(|c| hostile(c, keep)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if hostile(c, keep) {
            visible(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One string (a reason, a description): every control character and
/// direction override made visible, newlines and tabs included.
pub fn neutralize(s: &str) -> Cow<'_, str> {
    neutralize_keeping(s, &[])
}

/// A whole rendered document (a table, a file): as [`neutralize`], but
/// its own line breaks and tabs stay.
pub fn neutralize_text(s: &str) -> Cow<'_, str> {
    neutralize_keeping(s, &['\n', '\t'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_become_visible_and_plain_text_is_untouched() {
        assert!(matches!(neutralize("plain, ünïcode ✓"), Cow::Borrowed(_)));
        assert_eq!(neutralize("\u{1b}[31mRED\u{1b}[0m"), "␛[31mRED␛[0m");
        assert_eq!(neutralize("a\u{7}b\u{8}c\rd\u{7f}"), "a␇b␈c␍d␡");
        assert_eq!(neutralize("x\u{9b}2J"), "x\\u{9b}2J");
        assert_eq!(neutralize("ab\u{202e}cd\u{2066}"), "ab\\u{202e}cd\\u{2066}");
        assert_eq!(neutralize("line\nnext\ttab"), "line␊next␉tab");
    }

    #[test]
    fn documents_keep_their_line_breaks_and_tabs() {
        assert_eq!(
            neutralize_text("a\tb\n\u{1b}]8;;http://x\u{1b}\\link\n"),
            "a\tb\n␛]8;;http://x␛\\link\n"
        );
        assert!(
            !neutralize_text("\r\u{0}\u{1b}")
                .chars()
                .any(char::is_control)
        );
    }
}
