//! Expected outputs were produced by Go's `text/tabwriter` with the same
//! parameters (identical to docker's fork for these ASCII inputs).

use super::*;

fn fmt(w: TabWriter, text: &str) -> String {
    w.format(text)
}

/// `docker ps`: every header cell is padded to the widest cell + 3 (min 10);
/// the empty PORTS cell still takes its column; NAMES is never padded.
#[test]
fn docker_ps_table() {
    let text = "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES\n\
abc123def456\tnginx\t\"/docker-entrypoint.…\"\t2 hours ago\tUp 2 hours\t0.0.0.0:8080->80/tcp\tweb\n\
0123456789ab\tbusybox:latest\t\"sh\"\t3 days ago\tExited (0) 2 days ago\t\tjolly_wozniak\n";
    let want = "CONTAINER ID   IMAGE            COMMAND                  CREATED       STATUS                  PORTS                  NAMES\n\
abc123def456   nginx            \"/docker-entrypoint.…\"   2 hours ago   Up 2 hours              0.0.0.0:8080->80/tcp   web\n\
0123456789ab   busybox:latest   \"sh\"                     3 days ago    Exited (0) 2 days ago                          jolly_wozniak\n";
    assert_eq!(fmt(TabWriter::docker_table(), text), want);
}

/// A header-only table (no rows) prints the header line unpadded at its end.
#[test]
fn header_only_and_unterminated_text() {
    assert_eq!(fmt(TabWriter::docker_table(), "NAMES\n"), "NAMES\n");
    assert_eq!(fmt(TabWriter::docker_table(), "A\tB"), "A         B");
    assert_eq!(fmt(TabWriter::docker_table(), ""), "");
}

/// Go's doc example: a line with fewer cells ends the column block, so `b`
/// and `c` below are aligned separately.
#[test]
fn column_blocks_end_at_shorter_lines() {
    assert_eq!(
        fmt(
            TabWriter::docker_table(),
            "aaaa\tbbb\td\naa\tb\tdd\na\naa\tcccc\teee\n"
        ),
        "aaaa      bbb       d\naa        b         dd\na\naa        cccc      eee\n"
    );
    assert_eq!(
        fmt(
            TabWriter::docker_table(),
            "a\tb\tc\naa\tbb\n\naaa\tbbbb\tccc\td\n"
        ),
        "a         b         c\naa        bb\n\naaa       bbbb      ccc       d\n"
    );
}

/// `docker version`: `NewWriter(out, 20, 1, 1, ' ', 0)`.
#[test]
fn docker_version_layout() {
    let text = "Client:\n Version:\t28.2.2\n API version:\t1.50\n\nServer: Berth\n Engine:\n  Version:\t0.1.0\n  API version:\t1.55 (minimum version 1.24)\n";
    let want = "Client:\n Version:           28.2.2\n API version:       1.50\n\nServer: Berth\n Engine:\n  Version:          0.1.0\n  API version:      1.55 (minimum version 1.24)\n";
    assert_eq!(fmt(TabWriter::new(20, 1, 1, ' '), text), want);
}

#[test]
fn tab_padding_alignment_and_debug() {
    assert_eq!(
        fmt(TabWriter::new(0, 8, 1, '\t'), "a\tb\tc\naaaaaaaaa\tbb\tc\n"),
        "a\t\tb\tc\naaaaaaaaa\tbb\tc\n"
    );
    let right = Flags {
        align_right: true,
        ..Flags::default()
    };
    assert_eq!(
        fmt(
            TabWriter::new(0, 1, 1, ' ').with_flags(right),
            "1\t22\t333\n4444\t5\t6\n"
        ),
        "    1 22333\n 4444  56\n"
    );
    let debug = Flags {
        debug: true,
        ..Flags::default()
    };
    assert_eq!(
        fmt(
            TabWriter::new(5, 0, 1, ' ').with_flags(debug),
            "a\tb\tc\naa\tbbbbbbbb\tc\n"
        ),
        "a    |b        |c\naa   |bbbbbbbb |c\n"
    );
}

/// A form feed ends every column: lines after it are aligned on their own.
#[test]
fn form_feed_flushes() {
    assert_eq!(
        fmt(TabWriter::new(3, 1, 1, '-'), "x\ty\x0cz\tw\nlonger\tq\n"),
        "x--y\nz------w\nlonger-q\n"
    );
}

/// docker's fork measures with go-runewidth: CJK characters are two columns.
#[test]
fn wide_characters_take_two_columns() {
    assert_eq!(
        fmt(TabWriter::docker_table(), "NAME\tX\n容器名字\ty\n"),
        "NAME       X\n容器名字   y\n"
    );
}

#[test]
fn buffered_writes_and_fmt_write() {
    use std::fmt::Write as _;
    let mut w = TabWriter::docker_table();
    writeln!(w, "A\tB").unwrap();
    w.write_str("long value\tx\n");
    assert_eq!(w.flush(), "A            B\nlong value   x\n");
    assert_eq!(w.flush(), "");
}
