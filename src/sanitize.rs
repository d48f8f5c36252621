//! Untrusted text (prompts, answers, model output) is displayed, never interpreted.
//! Every control character becomes a visible symbol, so nothing from a dataset or a
//! model can move the cursor, change colours, set the title or ring the bell.

use std::borrow::Cow;

/// Map one character to its visible stand-in, or `None` when it is safe as is.
/// Newlines are kept (callers split lines on them); tabs are expanded by callers.
fn stand_in(c: char) -> Option<&'static str> {
    const C0: [&str; 32] = [
        "␀", "␁", "␂", "␃", "␄", "␅", "␆", "␇", "␈", "␉", "␊", "␋", "␌", "␍", "␎", "␏", "␐", "␑",
        "␒", "␓", "␔", "␕", "␖", "␗", "␘", "␙", "␚", "␛", "␜", "␝", "␞", "␟",
    ];
    match c {
        '\n' | '\t' => None,
        '\u{0}'..='\u{1f}' => Some(C0[c as usize]),
        '\u{7f}' => Some("␡"),
        // C1 controls (CSI is U+009B, OSC U+009D) act like ESC sequences on some terminals.
        '\u{80}'..='\u{9f}' => Some("�"),
        // Bidi overrides, isolates and marks can reorder what the reviewer sees.
        '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{061c}' => Some("�"),
        // Zero-width characters take no cell: they hide text differences and throw off
        // the terminal's idea of where a line ends (stale cells). Tag characters too.
        '\u{200b}'..='\u{200d}'
        | '\u{2060}'..='\u{2064}'
        | '\u{feff}'
        | '\u{180e}'
        | '\u{00ad}'
        | '\u{e0000}'..='\u{e007f}' => Some("�"),
        // Line and paragraph separators break lines in some terminals but not in ours.
        '\u{2028}' => Some("␤"),
        '\u{2029}' => Some("¶"),
        _ => None,
    }
}

/// Text safe to hand to the terminal. Borrowed when nothing needed replacing.
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| stand_in(c).is_some()) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match stand_in(c) {
            Some(sym) => out.push_str(sym),
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Like `visible`, and also turns newlines and tabs into visible marks: for one-line
/// places such as the queue, the status bar and error messages.
pub fn visible_line(s: &str) -> String {
    visible(s).replace('\n', "⏎").replace('\t', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_become_visible() {
        let hostile = "a\x1b[2J\x07b\x1b]0;pwned\x07c\u{9b}31m";
        let shown = visible(hostile);
        assert!(
            !shown
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
        );
        assert_eq!(shown, "a␛[2J␇b␛]0;pwned␇c�31m");
    }

    #[test]
    fn invisible_and_reordering_characters_become_visible() {
        let sneaky = "a\u{200b}b\u{200e}c\u{200f}d\u{2028}e\u{2029}f\u{feff}g\u{2060}h";
        assert_eq!(visible(sneaky), "a�b�c�d␤e¶f�g�h");
        // Every character left takes at least one cell: the queue's widths hold.
        use unicode_width::UnicodeWidthChar;
        assert!(
            visible(sneaky)
                .chars()
                .all(|c| c.width().is_some_and(|w| w > 0))
        );
    }

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(visible("plain text\nline two"), Cow::Borrowed(_)));
    }

    #[test]
    fn one_line_form_has_no_newlines() {
        assert_eq!(visible_line("a\nb\tc"), "a⏎b c");
    }
}
