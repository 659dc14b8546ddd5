//! Go's `text/tabwriter` (docker's fork of it): aligns tab-terminated cells
//! into columns with elastic tabstops.
//!
//! Cells end with `\t` (or `\v`); lines end with `\n` (or `\f`, which also
//! ends every column). Tab-terminated cells on consecutive lines form a
//! column whose width is that of its widest cell plus `padding`, but at
//! least `minwidth`. A line with fewer cells ends the column blocks to its
//! right, and the text after a line's last tab is not part of any column,
//! so it is never padded. docker prints tables with
//! `NewWriter(out, 10, 1, 3, ' ', 0)` ([`TabWriter::docker_table`]) and
//! `docker version` with `(20, 1, 1, ' ', 0)`.
//!
//! Widths are terminal columns ([`width::str_width`]), as in docker's fork,
//! which counts wide CJK characters as two.

pub mod width;

use std::fmt;

/// Formatting flags of Go's tabwriter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// Right-align cell contents (ignored when padding with tabs).
    pub align_right: bool,
    /// Give columns of empty `\v`-terminated cells zero width.
    pub discard_empty_columns: bool,
    /// Pad leading empty cells with tabs whatever the pad character.
    pub tab_indent: bool,
    /// Print `|` between columns.
    pub debug: bool,
}

/// Buffers text and aligns it on [`TabWriter::flush`].
#[derive(Debug, Clone)]
pub struct TabWriter {
    minwidth: usize,
    tabwidth: usize,
    padding: usize,
    padchar: char,
    flags: Flags,
    buf: String,
}

/// A cell: its text, its width in columns, and whether `\t` ended it.
struct Cell<'a> {
    text: &'a str,
    width: usize,
    htab: bool,
}

impl TabWriter {
    /// Go's `tabwriter.NewWriter(out, minwidth, tabwidth, padding, padchar, 0)`.
    pub fn new(minwidth: usize, tabwidth: usize, padding: usize, padchar: char) -> TabWriter {
        TabWriter {
            minwidth,
            tabwidth,
            padding,
            padchar,
            flags: Flags::default(),
            buf: String::new(),
        }
    }

    /// The writer docker's list commands use: `(10, 1, 3, ' ', 0)`.
    pub fn docker_table() -> TabWriter {
        TabWriter::new(10, 1, 3, ' ')
    }

    pub fn with_flags(mut self, mut flags: Flags) -> TabWriter {
        if self.padchar == '\t' {
            flags.align_right = false;
        }
        self.flags = flags;
        self
    }

    /// Buffers text; nothing is aligned until [`TabWriter::flush`].
    pub fn write_str(&mut self, s: &str) {
        self.buf.push_str(s);
    }

    /// Aligns everything written so far, returns it and empties the buffer.
    pub fn flush(&mut self) -> String {
        let text = std::mem::take(&mut self.buf);
        self.format(&text)
    }

    /// Aligns `text` in one go (the buffer is not involved).
    pub fn format(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + text.len() / 2);
        let mut lines: Vec<Vec<Cell>> = vec![Vec::new()];
        let mut start = 0;
        for (i, ch) in text.char_indices() {
            if !matches!(ch, '\t' | '\x0b' | '\n' | '\x0c') {
                continue;
            }
            let cell = &text[start..i];
            start = i + 1;
            let line = lines.last_mut().expect("there is always a current line");
            line.push(Cell {
                text: cell,
                width: width::str_width(cell),
                htab: ch == '\t',
            });
            if ch == '\n' || ch == '\x0c' {
                let ncells = line.len();
                lines.push(Vec::new());
                // A one-cell line cannot affect alignment of later lines,
                // and a form feed ends all columns: format what we have.
                if ch == '\x0c' || ncells == 1 {
                    self.flush_lines(&mut lines, &mut out);
                }
            }
        }
        if start < text.len() {
            let rest = &text[start..];
            lines.last_mut().expect("current line").push(Cell {
                text: rest,
                width: width::str_width(rest),
                htab: false,
            });
        }
        self.flush_lines(&mut lines, &mut out);
        out
    }

    fn flush_lines(&self, lines: &mut Vec<Vec<Cell>>, out: &mut String) {
        let mut widths = Vec::new();
        self.format_block(out, lines, &mut widths, 0, lines.len());
        lines.clear();
        lines.push(Vec::new());
    }

    /// Lays out lines `line0..line1` given the widths of the columns to the
    /// left (`widths`): finds each block of lines sharing the next column,
    /// sizes that column, and recurses for the columns after it.
    fn format_block(
        &self,
        out: &mut String,
        lines: &[Vec<Cell>],
        widths: &mut Vec<usize>,
        mut line0: usize,
        line1: usize,
    ) {
        let column = widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= lines[this].len() {
                this += 1;
                continue;
            }
            self.write_lines(out, lines, widths, line0, this);
            line0 = this;
            let mut width = self.minwidth;
            let mut discardable = true;
            while this < line1 && column + 1 < lines[this].len() {
                let c = &lines[this][column];
                width = width.max(c.width + self.padding);
                if c.width > 0 || c.htab {
                    discardable = false;
                }
                this += 1;
            }
            if discardable && self.flags.discard_empty_columns {
                width = 0;
            }
            widths.push(width);
            self.format_block(out, lines, widths, line0, this);
            widths.pop();
            line0 = this;
        }
        self.write_lines(out, lines, widths, line0, line1);
    }

    fn write_lines(
        &self,
        out: &mut String,
        lines: &[Vec<Cell>],
        widths: &[usize],
        line0: usize,
        line1: usize,
    ) {
        for (i, line) in lines.iter().enumerate().take(line1).skip(line0) {
            let mut use_tabs = self.flags.tab_indent;
            for (j, c) in line.iter().enumerate() {
                if j > 0 && self.flags.debug {
                    out.push('|');
                }
                let cellw = widths.get(j).copied();
                if c.text.is_empty() {
                    if let Some(w) = cellw {
                        self.write_padding(out, c.width, w, use_tabs);
                    }
                    continue;
                }
                use_tabs = false;
                if self.flags.align_right {
                    if let Some(w) = cellw {
                        self.write_padding(out, c.width, w, false);
                    }
                    out.push_str(c.text);
                } else {
                    out.push_str(c.text);
                    if let Some(w) = cellw {
                        self.write_padding(out, c.width, w, false);
                    }
                }
            }
            // The last buffered line is the unterminated one: no newline.
            if i + 1 < lines.len() {
                out.push('\n');
            }
        }
    }

    fn write_padding(&self, out: &mut String, textw: usize, cellw: usize, use_tabs: bool) {
        if self.padchar == '\t' || use_tabs {
            if self.tabwidth == 0 {
                return;
            }
            let cellw = cellw.div_ceil(self.tabwidth) * self.tabwidth;
            let n = cellw.saturating_sub(textw);
            out.extend(std::iter::repeat_n('\t', n.div_ceil(self.tabwidth)));
            return;
        }
        out.extend(std::iter::repeat_n(
            self.padchar,
            cellw.saturating_sub(textw),
        ));
    }
}

impl fmt::Write for TabWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.buf.push_str(s);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
