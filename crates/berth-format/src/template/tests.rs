//! Template behaviour checked against Go.
//!
//! Unless a test says otherwise, each expected string is what Go's
//! `text/template` printed for the same template and data, with docker's
//! template functions registered and JSON numbers decoded as `int` when
//! integral (as docker's typed structs hold them). `ERR ` marks an error
//! and is followed by Go's full error text.

use serde_json::{json, Value};

use super::*;

fn fixture() -> Value {
    json!({
        "A": null, "S": "str", "N": 5, "Z": 0, "F": 1.5, "Big": 1000000,
        "L": ["x", "y"], "E": [], "M": {"b": 2, "a": 1}, "SM": {"k": "v"},
        "Names": ["/web"], "Labels": {"com.x": "1", "b": "2"},
        "Nested": {"Deep": {"V": "d"}, "Arr": [{"n": 1}, {"n": 2}]},
        "T": true, "Fa": false, "U": "héllo wörld", "Sp": "  pad  "
    })
}

fn run(src: &str, data: &Value) -> String {
    match Template::parse(src) {
        Err(e) => format!("ERR {e}"),
        Ok(t) => match t.render(data) {
            Ok(out) => out,
            Err(e) => format!("ERR {e}"),
        },
    }
}

fn check(cases: &[(&str, &str)]) {
    let data = fixture();
    for (src, want) in cases {
        assert_eq!(run(src, &data), *want, "template: {src:?}");
    }
}

/// Fields print like Go's fmt.Print of the JSON-decoded value; missing keys give <no value>.
#[test]
fn fields_and_printing() {
    check(&[
        (
            r#"{{.S}} {{.N}} {{.F}} {{.Big}} {{.Z}} {{.T}}"#,
            r#"str 5 1.5 1000000 0 true"#,
        ),
        (
            r#"{{.L}} {{.E}} {{.M}} {{.SM}}"#,
            r#"[x y] [] map[a:1 b:2] map[k:v]"#,
        ),
        (
            r#"{{.Nested}}"#,
            r#"map[Arr:[map[n:1] map[n:2]] Deep:map[V:d]]"#,
        ),
        (r#"{{.Nested.Deep.V}} {{$.Nested.Deep.V}}"#, r#"d d"#),
        (r#"{{.Nested.Arr}}"#, r#"[map[n:1] map[n:2]]"#),
        (
            r#"{{.B}}|{{.B.X}}|{{.M.zz}}"#,
            r#"<no value>|<no value>|<no value>"#,
        ),
        (
            r#"{{.}}"#,
            r#"map[A:<nil> Big:1000000 E:[] F:1.5 Fa:false L:[x y] Labels:map[b:2 com.x:1] M:map[a:1 b:2] N:5 Names:[/web] Nested:map[Arr:[map[n:1] map[n:2]] Deep:map[V:d]] S:str SM:map[k:v] Sp:  pad   T:true U:héllo wörld Z:0]"#,
        ),
        (r#"{{$x := .Nested}}{{$x.Deep.V}}"#, r#"d"#),
        (r#"{{(.M).a}} {{(index .Nested.Arr 1).n}}"#, r#"1 2"#),
        (
            r#"{{1e3}} {{0x1F}} {{-5}} {{1.50}} {{'a'}} {{1e21}} {{1_000}} {{0o17}} {{017}} {{.5}} {{3.}} {{+4}}"#,
            r#"1000 31 -5 1.5 97 1e+21 1000 15 15 0.5 3 4"#,
        ),
        (
            "{{\"a\\tb\"}}|{{\"\\u00e9\\x41\"}}|{{`a\nb`}}",
            "a\tb|éA|a\nb",
        ),
    ]);
}

/// if/else if/with/range, variables and their scopes, break and continue.
#[test]
fn control_flow() {
    check(&[
        (r#"{{if .T}}t{{else if .Fa}}f{{else}}e{{end}}"#, r#"t"#),
        (
            r#"{{if .Fa}}t{{else if .Z}}f{{else if .S}}s{{end}}"#,
            r#"s"#,
        ),
        (
            r#"{{if .A}}y{{else}}n{{end}}{{if .M}}y{{end}}{{if not .E}}ne{{end}}{{if .Z}}z{{else}}nz{{end}}"#,
            r#"nynenz"#,
        ),
        (
            r#"{{range $i, $e := .L}}{{$i}}={{$e}} {{end}}"#,
            r#"0=x 1=y "#,
        ),
        (
            r#"{{range $k, $v := .M}}{{$k}}={{$v}} {{end}}"#,
            r#"a=1 b=2 "#,
        ),
        (r#"{{range $v := .M}}{{$v}} {{end}}"#, r#"1 2 "#),
        (r#"{{range .Labels}}{{.}},{{end}}"#, r#"2,1,"#),
        (r#"{{range .Nested.Arr}}{{.n}}{{end}}"#, r#"12"#),
        (
            r#"{{range .B}}x{{else}}e{{end}}{{range .E}}x{{else}}empty{{end}}"#,
            r#"eempty"#,
        ),
        (r#"{{range .L}}{{$.S}}{{.}}{{end}}"#, r#"strxstry"#),
        (
            r#"{{range .L}}{{range $.L}}{{.}}{{end}};{{end}}"#,
            r#"xy;xy;"#,
        ),
        (r#"{{range .L}}{{.}}{{continue}}X{{end}}"#, r#"xy"#),
        (
            r#"{{range $i, $e := .L}}{{if $i}}{{break}}{{end}}{{$e}}{{end}}"#,
            r#"x"#,
        ),
        (r#"{{with $x := .S}}{{$x}}{{end}}"#, r#"str"#),
        (r#"{{with .E}}y{{else}}n{{end}}"#, r#"n"#),
        (
            r#"{{with .Nested}}{{with .Deep}}{{.V}}{{$.S}}{{end}}{{end}}"#,
            r#"dstr"#,
        ),
        (
            r#"{{$x := 1}}{{if .S}}{{$x := 2}}{{$x}}{{end}}{{$x}}"#,
            r#"21"#,
        ),
        (r#"{{$x := 1}}{{if .S}}{{$x = 2}}{{end}}{{$x}}"#, r#"2"#),
        (r#"{{ $x := 1 }}{{ $x = 2 }}{{$x}}"#, r#"2"#),
        (
            r#"{{define "a"}}[{{.}}]{{end}}{{range .L}}{{template "a" .}}{{end}}"#,
            r#"[x][y]"#,
        ),
        (r#"{{define "a"}}{{$}}{{end}}{{template "a" .N}}"#, r#"5"#),
        (
            r#"{{template "a" .S}}{{define "a"}}A{{.}}{{end}}"#,
            r#"Astr"#,
        ),
        (r#"{{block "b" .N}}B{{.}}{{end}}"#, r#"B5"#),
    ]);
}

/// Trim markers remove all adjacent white space; comments print nothing.
#[test]
fn whitespace_and_comments() {
    check(&[
        (r#"a  {{- .S -}}  b"#, r#"astrb"#),
        ("{{range .L}}\n  {{- .}}\n{{- end}}", r#"xy"#),
        ("{{.S -}}  \n  x", r#"strx"#),
        ("{{/* multi\nline */}}ok", r#"ok"#),
        (r#"{{- /* c */ -}} x"#, r#"x"#),
        (r#"{{- 3}}|{{3 -}}|"#, r#"3|3|"#),
    ]);
}

/// Pipelines pass the value as last argument; Go's builtin functions.
#[test]
fn pipelines_and_builtins() {
    check(&[
        (r#"{{.S | printf "%q"}}"#, r#""str""#),
        (r#"{{.S | printf "%s-%s" "x"}}"#, r#"x-str"#),
        (r#"{{"x" | upper | lower}}"#, r#"x"#),
        (r#"{{(printf "%s-%s" .S .S) | upper}}"#, r#"STR-STR"#),
        (r#"{{(index .Nested.Arr 0).n | printf "%03d"}}"#, r#"001"#),
        (r#"{{len .L | printf "%03d"}}"#, r#"002"#),
        (
            r#"{{ .S | len }} {{len .U}} {{len .L}} {{len .Labels}}"#,
            r#"3 13 2 2"#,
        ),
        (
            r#"{{and 1 0 2}} {{or 0 "" .S}} {{and .S .N}} {{or .Z .B}}"#,
            r#"0 str 5 <no value>"#,
        ),
        (r#"{{if and .S (gt .N 3)}}big{{end}}"#, r#"big"#),
        (
            r#"{{if or (eq .S "x") (eq .S "str")}}match{{end}}"#,
            r#"match"#,
        ),
        (r#"{{if ne .S "str"}}ne{{else}}eq{{end}}"#, r#"eq"#),
        (
            r#"{{if le .N 5}}le{{end}}{{if ge .N 6}}ge{{end}}{{if lt "a" "b"}}lt{{end}}"#,
            r#"lelt"#,
        ),
        (
            r#"{{eq .N 5 6 7}} {{eq .N 1 2}} {{eq .B .A}} {{eq .A nil}}"#,
            r#"true false true true"#,
        ),
        (r#"{{not 0}} {{not .S}} {{not .A}}"#, r#"true false true"#),
        (
            r#"{{index .L 1}} {{index .Nested "Deep" "V"}} {{index .S 0}} {{index .M "zz"}}"#,
            r#"y d 115 <no value>"#,
        ),
        (
            r#"{{slice .S 1 2}} {{slice .L 1}} {{slice .L}} {{slice .U 0 3}}"#,
            r#"t [y] [x y] hé"#,
        ),
        (
            r#"{{print 1 2 "a" 3 .A .B}}|{{print}}|{{println}}|"#,
            "1 2a3 <nil> <nil>||\n|",
        ),
        (r#"{{println .S .N}}"#, "str 5\n"),
        (
            r#"{{html "<a&b>"}} {{js "a'b<"}} {{urlquery "a b&c"}}"#,
            r#"&lt;a&amp;b&gt; a\'b\u003C a+b%26c"#,
        ),
    ]);
}

/// printf follows Go's fmt verbs, flags and in-band errors.
#[test]
fn printf_verbs() {
    check(&[
        (
            r#"{{printf "%5s|%-5s|%05d|%x|%X|%o|%.2f|%e|%g|%t|%c|%q|%U|%v" "ab" "cd" 42 255 "hi" 8 3.14159 1234.5678 0.00001 true 65 "a\"b" 65 .M}}"#,
            r#"   ab|cd   |00042|ff|6869|10|3.14|1.234568e+03|1e-05|true|A|"a\"b"|U+0041|map[a:1 b:2]"#,
        ),
        (
            r#"{{printf "%-10s|%10s|" .S .S}}"#,
            r#"str       |       str|"#,
        ),
        (
            r#"{{printf "%.3s|%10.4v|%-8q|" .U .U "é"}}"#,
            r#"hél|      héll|"é"     |"#,
        ),
        (
            r#"{{printf "%6.2f|%6.2e|%6.2g" .F .F .F}}"#,
            r#"  1.50|1.50e+00|   1.5"#,
        ),
        (
            r#"{{printf "%v %v %v %v" 0.1 100.0 1e-5 123456789.123}}"#,
            r#"0.1 100 1e-05 1.23456789123e+08"#,
        ),
        (
            r#"{{printf "%v" 1e6}} {{printf "%v" 1e20}} {{1e6}}"#,
            r#"1e+06 1e+20 1e+06"#,
        ),
        (r#"{{printf "%d %d" 1}}"#, r#"1 %!d(MISSING)"#),
        (r#"{{printf "%d" 1 2}}"#, r#"1%!(EXTRA int=2)"#),
        (r#"{{printf "%d" .L}}"#, r#"[%!d(string=x) %!d(string=y)]"#),
        (
            r#"{{printf "%s %v %d" .T .A .A}}"#,
            r#"%!s(bool=true) <nil> %!d(<nil>)"#,
        ),
        (
            r#"{{printf "%[1]s %[1]s" .S}} {{printf "%.*s" 2 .S}} {{printf "%-*s|" 6 .S}}"#,
            r#"str str st str   |"#,
        ),
        (
            r#"{{printf "%T %T %T %T %T %T" .S .N .F .L .M .A}}"#,
            r#"string int float64 []interface {} map[string]interface {} <nil>"#,
        ),
    ]);
}

/// docker's template functions: json split join title lower upper pad truncate.
#[test]
fn docker_funcs() {
    check(&[
        (
            r#"{{json .S}} {{json .N}} {{json .L}} {{json .A}} {{json .B}}"#,
            r#""str" 5 ["x","y"] null null"#,
        ),
        (r#"{{json "<a>&"}}"#, r#""<a>&""#),
        (
            r#"{{split "a,b,c" ","}} {{len (split "a,b" ",")}} {{index (split "a:b" ":") 1}}"#,
            r#"[a b c] 2 b"#,
        ),
        (
            r#"{{join .L ","}} {{join .Labels ","}} {{join .E "-"}}"#,
            r#"x,y 1,2 "#,
        ),
        (
            r#"{{title "hello wORLD foo-bar_baz x.y"}} {{upper .U}} {{lower "ABC"}}"#,
            r#"Hello WORLD Foo-Bar_baz X.Y HÉLLO WÖRLD abc"#,
        ),
        (r#"{{pad .S 2 3}}|{{pad "" 2 3}}|"#, r#"  str   ||"#),
        (r#"{{truncate .S 2}}|{{truncate .S 10}}|"#, r#"st|str|"#),
    ]);
}

/// Execution errors carry Go's position, node and message.
#[test]
fn exec_errors() {
    check(&[
        (
            r#"{{.A.X}}"#,
            r#"ERR template: :1:4: executing "" at <.A.X>: nil pointer evaluating interface {}.X"#,
        ),
        (
            r#"{{.S.X}}"#,
            r#"ERR template: :1:4: executing "" at <.S.X>: can't evaluate field X in type interface {}"#,
        ),
        (
            r#"{{.S "x"}}"#,
            r#"ERR template: :1:2: executing "" at <.S>: S is not a method but has arguments"#,
        ),
        (
            r#"{{"a" | .S}}"#,
            r#"ERR template: :1:8: executing "" at <.S>: S is not a method but has arguments"#,
        ),
        (
            r#"{{upper .B}}"#,
            r#"ERR template: :1:8: executing "" at <.B>: invalid value; expected string"#,
        ),
        (
            r#"{{upper .A}}"#,
            r#"ERR template: :1:8: executing "" at <.A>: wrong type for value; expected string; got interface {}"#,
        ),
        (
            r#"{{.B | upper}}"#,
            r#"ERR template: :1:7: executing "" at <upper>: invalid value; expected string"#,
        ),
        (
            r#"{{upper}}"#,
            r#"ERR template: :1:2: executing "" at <upper>: wrong number of args for upper: want 1 got 0"#,
        ),
        (
            r#"{{upper 1 2}}"#,
            r#"ERR template: :1:2: executing "" at <upper>: wrong number of args for upper: want 1 got 2"#,
        ),
        (
            r#"{{printf}}"#,
            r#"ERR template: :1:2: executing "" at <printf>: wrong number of args for printf: want at least 1 got 0"#,
        ),
        (
            r#"{{upper nil}}"#,
            r#"ERR template: :1:8: executing "" at <nil>: cannot assign nil to string"#,
        ),
        (
            r#"{{nil}}"#,
            r#"ERR template: :1:2: executing "" at <nil>: nil is not a command"#,
        ),
        (
            r#"{{3 .S}}"#,
            r#"ERR template: :1:2: executing "" at <3>: can't give argument to non-function 3"#,
        ),
        (
            r#"{{range .S}}x{{end}}"#,
            r#"ERR template: :1:8: executing "" at <.S>: range can't iterate over str"#,
        ),
        (
            r#"{{range .F}}x{{end}}"#,
            r#"ERR template: :1:8: executing "" at <.F>: range can't iterate over 1.5"#,
        ),
        (
            r#"{{index .L 5}}"#,
            r#"ERR template: :1:2: executing "" at <index .L 5>: error calling index: index out of range: 5"#,
        ),
        (
            r#"{{index .M 1}}"#,
            r#"ERR template: :1:2: executing "" at <index .M 1>: error calling index: value has type int; should be string"#,
        ),
        (
            r#"{{index .L "a"}}"#,
            r#"ERR template: :1:2: executing "" at <index .L "a">: error calling index: cannot index slice/array with type string"#,
        ),
        (
            r#"{{slice .L 2 1}}"#,
            r#"ERR template: :1:2: executing "" at <slice .L 2 1>: error calling slice: invalid slice index: 2 > 1"#,
        ),
        (
            r#"{{slice .S 0 1 2}}"#,
            r#"ERR template: :1:2: executing "" at <slice .S 0 1 2>: error calling slice: cannot 3-index slice a string"#,
        ),
        (
            r#"{{len .A}}"#,
            r#"ERR template: :1:2: executing "" at <len .A>: error calling len: len of nil pointer"#,
        ),
        (
            r#"{{eq .S 5}}"#,
            r#"ERR template: :1:2: executing "" at <eq .S 5>: error calling eq: incompatible types for comparison"#,
        ),
        (
            r#"{{lt true false}}"#,
            r#"ERR template: :1:2: executing "" at <lt true false>: error calling lt: invalid type for comparison"#,
        ),
        (
            r#"{{eq 1}}"#,
            r#"ERR template: :1:2: executing "" at <eq 1>: error calling eq: missing argument for comparison"#,
        ),
        (
            r#"{{template "y"}}"#,
            r#"ERR template: :1:11: executing "" at <{{template "y"}}>: template "y" not defined"#,
        ),
        (
            r#"{{$x = 2}}"#,
            r#"ERR template: :1:7: executing "" at <2>: undefined variable: $x"#,
        ),
        (
            r#"{{18446744073709551615}}"#,
            r#"ERR template: :1:2: executing "" at <18446744073709551615>: 18446744073709551615 overflows int"#,
        ),
        (
            r#"{{join .S ","}}"#,
            r#"ERR template: :1:2: executing "" at <join .S ",">: error calling join: expected slice, got string"#,
        ),
        (
            r#"{{pad .S -1 0}}"#,
            r#"ERR template: :1:2: executing "" at <pad .S -1 0>: error calling pad: strings: negative Repeat count"#,
        ),
        (
            r#"{{truncate .S .F}}"#,
            r#"ERR template: :1:14: executing "" at <.F>: wrong type for value; expected int; got float64"#,
        ),
        (
            r#"{{pad .S "a" 1}}"#,
            r#"ERR template: :1:9: executing "" at <"a">: expected integer; found "a""#,
        ),
        (
            r#"{{upper .N}}"#,
            r#"ERR template: :1:8: executing "" at <.N>: wrong type for value; expected string; got int"#,
        ),
    ]);
}

/// Parse errors carry Go's line and message.
#[test]
fn parse_errors() {
    check(&[
        (
            r#"{{.Foo}"#,
            r#"ERR template: :1: bad character U+007D '}'"#,
        ),
        (
            r#"{{.Foo }"#,
            r#"ERR template: :1: unexpected "}" in operand"#,
        ),
        (
            r#"{{foo}}"#,
            r#"ERR template: :1: function "foo" not defined"#,
        ),
        (r#"{{$x}}"#, r#"ERR template: :1: undefined variable "$x""#),
        (r#"{{end}}"#, r#"ERR template: :1: unexpected {{end}}"#),
        (r#"{{else}}"#, r#"ERR template: :1: unexpected {{else}}"#),
        (r#"{{if .S}}"#, r#"ERR template: :1: unexpected EOF"#),
        (
            r#"{{if}}{{end}}"#,
            r#"ERR template: :1: missing value for if"#,
        ),
        (
            r#"{{"abc".x}}"#,
            r#"ERR template: :1: unexpected . after term "\"abc\"""#,
        ),
        (
            r#"{{.S.}}"#,
            r#"ERR template: :1: unexpected <.> in operand"#,
        ),
        (
            r#"{{break}}"#,
            r#"ERR template: :1: {{break}} outside {{range}}"#,
        ),
        (
            r#"{{range $i, $e, $f := .L}}{{end}}"#,
            r#"ERR template: :1: too many declarations in range"#,
        ),
        (
            r#"{{if $x := 1, 2}}{{end}}"#,
            r#"ERR template: :1: unexpected "," in operand"#,
        ),
        (
            r#"a {{-.N}}"#,
            r#"ERR template: :1: bad number syntax: "-.N""#,
        ),
        (
            r#"{{/* c */ }}"#,
            r#"ERR template: :1: comment ends before closing delimiter"#,
        ),
        (r#"{{/* c"#, r#"ERR template: :1: unclosed comment"#),
        (r#"{{.S"#, r#"ERR template: :1: unclosed action"#),
        (
            r#"{{.S)}}"#,
            r#"ERR template: :1: unexpected ")" in command"#,
        ),
        (r#"{{(.S}}"#, r#"ERR template: :1: unclosed left paren"#),
        (
            r#"{{.S | 3}}"#,
            r#"ERR template: :1: non executable command in pipeline stage 2"#,
        ),
        (r#"{{"\z"}}"#, r#"ERR template: :1: invalid syntax"#),
        (
            r#"{{"abc}}"#,
            r#"ERR template: :1: unterminated quoted string"#,
        ),
        (
            r#"{{.S}}{{else}}"#,
            r#"ERR template: :1: unexpected {{else}}"#,
        ),
        (
            "line1\n{{.S}}\n{{foo}}",
            r#"ERR template: :3: function "foo" not defined"#,
        ),
        (
            "{{if .S}}\n{{end}",
            r#"ERR template: :2: bad character U+007D '}'"#,
        ),
        (
            r#"{{range $i, $e := .L}}{{end}}{{$i}}"#,
            r#"ERR template: :1: undefined variable "$i""#,
        ),
        (
            r#"{{define "a"}}{{$x}}{{end}}{{$x := 1}}"#,
            r#"ERR template: :1: undefined variable "$x""#,
        ),
        (
            r#"{{'ab'}}"#,
            r#"ERR template: :1: malformed character constant: 'ab'"#,
        ),
        (r#"{{''}}"#, r#"ERR template: :1: invalid syntax"#),
        (r#"{{end x}}"#, r#"ERR template: :1: unexpected "x" in end"#),
        (
            r#"{{template .S}}"#,
            r#"ERR template: :1: unexpected ".S" in template clause"#,
        ),
        (
            r#"{{define "x" .}}{{end}}"#,
            r#"ERR template: :1: unexpected <.> in define clause"#,
        ),
        (
            r#"{{range .L}}{{else}}{{break}}{{end}}"#,
            r#"ERR template: :1: {{break}} outside {{range}}"#,
        ),
    ]);
}

/// Deliberate departures from Go on JSON data, documented in the crate:
/// docker renders typed structs, where these cases print differently from
/// Go on decoded JSON.
#[test]
fn json_data_choices() {
    let data = fixture();
    // A null is a nil pointer in docker's structs: `<nil>`, not `<no value>`.
    assert_eq!(run("{{.A}}", &data), "<nil>");
    // Indexing a missing key of a string map (labels) gives "", and so does
    // indexing a null map (nil map[string]string).
    assert_eq!(run(r#"{{index .SM "zz"}}|{{index .A "k"}}|"#, &data), "||");
    // Objects keep their order in `json` (struct field order).
    assert_eq!(run("{{json .M}}", &data), r#"{"b":2,"a":1}"#);
    // Go 1.22 ranges over integers; `{{else with}}` is Go 1.23.
    assert_eq!(run("{{range 3}}{{.}}{{end}}", &data), "012");
    assert_eq!(
        run("{{with .B}}y{{else with .S}}{{.}}{{end}}", &data),
        "str"
    );
    // Numbers compare by value whatever their JSON spelling.
    assert_eq!(run("{{eq .F 1.5}} {{lt .N 5.5}}", &data), "true true");
}

/// docker's `.Label "key"` on list rows is a method of the row.
#[test]
fn methods_take_arguments_and_the_pipeline_value() {
    let label = |row: &Value, args: &[Value]| -> Result<Value, String> {
        let key = args.first().and_then(Value::as_str).unwrap_or_default();
        Ok(row["Labels"].get(key).cloned().unwrap_or(json!("")))
    };
    let methods = Methods::new()
        .add("Label", label)
        .add("Fail", |_: &Value, _: &[Value]| Err("boom".to_string()));
    let t = Template::parse(
        r#"{{.Label "com.x"}}|{{.Label "none"}}|{{"b" | .Label}}|{{upper (.Label "b")}}"#,
    )
    .unwrap();
    let out = t.render_with(&fixture(), &methods).unwrap();
    assert_eq!(out, "1||2|2");
    let err = Template::parse("{{.Fail}}")
        .unwrap()
        .render_with(&fixture(), &methods)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"template: :1:2: executing "" at <.Fail>: error calling Fail: boom"#
    );
    // Without the method, Go's error for arguments to a map key.
    assert_eq!(
        run(r#"{{.Label "x"}}"#, &fixture()),
        r#"ERR template: :1:2: executing "" at <.Label>: Label is not a method but has arguments"#
    );
}

#[test]
fn custom_functions_and_overlays() {
    let funcs = Funcs::docker().add("double", |args: &[Value]| {
        Ok(json!(args[0].as_i64().unwrap_or(0) * 2))
    });
    let t = Template::parse_with("{{double .N}} {{.N | double}} {{upper .S}}", funcs).unwrap();
    assert_eq!(t.render(&fixture()).unwrap(), "10 10 STR");
    // Go's builtins only: docker's functions are unknown at parse time.
    let err = Template::parse_with("{{upper .S}}", Funcs::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"template: :1: function "upper" not defined"#
    );
    // docker's header functions leave their input alone.
    let header = Template::parse(
        r#"{{upper .S}} {{json .S}} {{split .S ","}} {{truncate .S 1}} {{pad .S 1 1}}"#,
    )
    .unwrap()
    .with_funcs(&Funcs::docker_header());
    assert_eq!(
        header.render(&json!({"S": "NAME"})).unwrap(),
        "NAME NAME NAME NAME  NAME "
    );
}

/// Go's `missingkey=error` option, used by docker inspect's raw fallback.
#[test]
fn missing_key_error_option() {
    let t = Template::parse("{{.S}}{{.Nope}}")
        .unwrap()
        .missing_key_error(true);
    assert_eq!(
        t.render(&fixture()).unwrap_err().to_string(),
        r#"template: :1:8: executing "" at <.Nope>: map has no entry for key "Nope""#
    );
}

/// Go's writer keeps what was written before an error; docker prints such
/// partial table headers.
#[test]
fn render_into_keeps_partial_output() {
    let t = Template::parse("a{{.S}}b{{upper .N}}c").unwrap();
    let mut out = String::new();
    assert!(t
        .render_into(&fixture(), &Methods::new(), &mut out)
        .is_err());
    assert_eq!(out, "astrb");
}

#[test]
fn errors_name_the_executing_template() {
    let err = run(
        r#"{{define "t"}}{{.S.X}}{{end}}{{template "t" .}}"#,
        &fixture(),
    );
    assert_eq!(
        err,
        r#"ERR template: :1:18: executing "t" at <.S.X>: can't evaluate field X in type interface {}"#
    );
    let deep = run(
        r#"{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}"#,
        &fixture(),
    );
    assert!(
        deep.ends_with("exceeded maximum template depth (100)"),
        "{deep}"
    );
}
