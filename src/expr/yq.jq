# yq's spellings, written in jq and compiled after jaq's definitions.
# `with` is an update relative to a path; the document index is a variable bound per
# document; `env` is `$ENV`, which holds only the variables the caller allows.
def with(p; f): p |= f;
def documentIndex: $__di;
def di: $__di;
def env: $ENV;
# yq's `sub(re, replacement)` (comma-separated, rewritten to this): every match replaced,
# `${1}`, `$1` or `${name}` in the replacement standing for a capture group, `${0}` for the
# match, as Go's regexp.Expand does.
def __yq_expand($m):
  gsub("\\$(?:\\{(?<b>[A-Za-z0-9_]+)\\}|(?<p>[0-9]+))";
    (.b // .p) as $g
    | if ($g | test("^[0-9]+$")) then
        ($g | tonumber) as $n
        | if $n == 0 then $m.string else ($m.captures[$n - 1].string // "") end
      else
        (first($m.captures[] | select(.name == $g) | .string) // "")
      end);
def __yq_sub($re; $replacement):
  . as $s
  | reduce match($re; "g") as $m ({out: "", at: 0};
      .out += $s[.at:$m.offset] + ($replacement | __yq_expand($m))
      | .at = $m.offset + $m.length)
  | .out + $s[.at:];
# yq's `pick(["a", "b"])` and `omit([...])` take keys (or indices) as values; jq's
# `pick(.a, .b.c)` takes paths, and stays jq's when its argument is one.
def pick(f):
  if (try ([path(f)] | true) catch false) then
    . as $top | reduce path(f) as $p (null; setpath($p; $top | getpath($p)))
  else
    [f] as [$keys]
    | if type == "object" then . as $o | reduce ($keys[] | select(. as $k | $o | has($k))) as $k ({}; .[$k] = $o[$k])
      elif type == "array" then . as $a | [$keys[] | select(type == "number" and . >= 0 and . < ($a | length)) | $a[.]]
      else error("pick needs a mapping or a sequence, not \(type)") end
  end;
def omit($keys):
  # `del` here would be jaq's (`f |= empty`, which `|=` now keeps): remove natively.
  if type == "object" then reduce $keys[] as $k (.; __delkey($k))
  elif type == "array" then [to_entries[] | select(.key as $i | any($keys[]; . == $i) | not) | .value]
  else error("omit needs a mapping or a sequence, not \(type)") end;
# yq's `to_string` writes a mapping or sequence as flow-style YAML (`{an: object}`), a
# scalar as its text (pkg/yqlib/operator_strings.go, `toStringOperator`).
def to_string: if type == "object" or type == "array" then __flow_yaml else tostring end;
# yq skips null items; the indices become (string) keys.
def array_to_map: reduce (to_entries[] | select(.value != null)) as $e ({}; .[$e.key | tostring] = $e.value);
def any_c(f): any(.[]; f);
def all_c(f): all(.[]; f);
# `$VAR`, `${VAR}`, `${VAR:-default}` (also when empty), `${VAR-default}` (when unset), from
# the variables the expression may read; `envsubst("nu")` fails on an unset one and
# `envsubst("ne")` on an empty one, as yq's flags do.
def envsubst($flags):
  gsub("\\$(?:\\{(?<n>[A-Za-z_][A-Za-z0-9_]*)(?:(?<op>:?-)(?<d>[^}]*))?\\}|(?<m>[A-Za-z_][A-Za-z0-9_]*))";
    (.n // .m) as $name | $ENV[$name] as $v
    | if $v == null then
        if .op then .d
        elif ($flags | contains("nu")) then error("envsubst: the variable \($name) is not set (or may not be read here)")
        else "" end
      elif $v == "" and .op == ":-" then .d
      elif $v == "" and ($flags | contains("ne")) then error("envsubst: the variable \($name) is empty")
      else $v end);
def envsubst: envsubst("");
# yq's `unique_by(f)` and `unique` keep the first item of each key where it stood
# (pkg/yqlib/operator_unique.go, an ordered map); jq's sort by the key. The key is f's first
# value, null when it yields none, as yq's `getUniqueKeyValue`.
def unique_by(f):
  reduce .[] as $x ([[], []];
    ([limit(1; $x | f)] | if . == [] then [null] else . end) as $k
    | if any(.[0][]; . == $k) then . else [.[0] + [$k], .[1] + [$x]] end)
  | .[1];
def unique: unique_by(.);
# yq's merges with flags (pkg/yqlib/operator_multiply.go, `mergeObjects`, `applyAssignment`):
# `l *+ r` appends sequences, `*d` merges sequences item by item, `*?` writes only keys that
# exist, `*n` writes only where the value is null or missing; the flags combine. Mappings
# merge key by key; any other value is assigned. Two scalars multiply, as `*` does. The
# plain `*` is jaq-json's (vendor/jaq-json, the same rules without flags).
def __yq_merge_set($r; $f): if ($f | contains("n")) and . != null then . else $r end;
def __yq_merge_node($r; $f):
  ($r | type) as $t
  | if $t == "object" then
      reduce ($r | keys_unsorted[]) as $k (if type == "object" then . else {} end;
        if ($f | contains("?")) and (has($k) | not) then .
        else .[$k] |= __yq_merge_node($r[$k]; $f) end)
    elif $t == "array" and ($f | contains("+")) then
      if type == "array" then . + $r else __yq_merge_set($r; $f) end
    elif $t == "array" and ($f | contains("d")) and type == "array" then
      reduce range($r | length) as $i (.;
        if ($f | contains("?")) and $i >= length then .
        else .[$i] |= __yq_merge_node($r[$i]; $f) end)
    else __yq_merge_set($r; $f) end;
def __yq_merge(l; r; $f):
  r as $r | l as $l
  | if $f | contains("c") then
      error("the c flag of \($f) (clobber custom tags) is not supported: a value here carries no tag; drop the c")
    elif $r == null then $l
    elif ($r | type) as $t | ($t == "object" or $t == "array") and ($l == null or ($l | type) == $t)
    then $l | __yq_merge_node($r; $f)
    else $l * $r end;
def __yq_merge_update(p; r; $f): r as $x | p |= __yq_merge(.; $x; $f);
# yq's `has` (pkg/yqlib/operator_has.go): a mapping has a key when one reads as the same
# text (`has(1)` finds `"1"`), a sequence an index when it is a whole number in range, and
# anything else has nothing, where jq fails on a scalar: `.. | select(has("name"))` walks
# past the strings.
def __jq_has($k): has($k);
def has($k):
  if type == "object" then __jq_has($k | if type == "string" then . else tojson end)
  elif type == "array" then ($k | type) == "number" and $k == ($k | floor) and $k >= 0 and $k < length
  else false end;
# yq's `now` is the current time as an RFC 3339 timestamp in UTC, whole seconds
# (pkg/yqlib/operator_datetime.go, `nowOp`), where jq's is a number of seconds: `.updated =
# now` writes a date, as the yq template meant. A timestamp passes `todate` as it is, so
# jq's `now | todate` gives the same text.
def __jq_now: now;
def now: __jq_now | floor | from_unix;
def __jq_todate: todate;
def todate: if type == "string" then . else __jq_todate end;
# yq's `sort_keys(f)`: each mapping f selects gets its keys in (byte) order, recursively
# with `..`; the input is the result (pkg/yqlib/operator_sort_keys.go). Paths are taken
# before any sorting, which moves no value to another path.
def sort_keys(f):
  reduce path(f) as $p (.;
    if getpath($p) | type == "object" then setpath($p; getpath($p) | __sortkeys) else . end);
# yq's encoders and decoders (pkg/yqlib/operator_encoder_decoder.go, lexer_participle.go):
# YAML in block style, 2 columns a level unless told; JSON indented 2 (`to_json`) or on one
# line (`@json`, `to_json(0)`); decoding reads the first document.
def to_yaml($indent): __to_yaml($indent);
def to_yaml: __to_yaml(2);
def toyaml($indent): __to_yaml($indent);
def toyaml: __to_yaml(2);
def @yaml: __to_yaml(2);
def from_yaml: __from_yaml;
def fromyaml: __from_yaml;
def @yamld: __from_yaml;
def to_json($indent): __to_json($indent);
def to_json: __to_json(2);
def from_json: __from_yaml;
def @jsond: __from_yaml;
# yq's names for jq's ascii_upcase and ascii_downcase (pkg/yqlib/operator_strings.go).
def upcase: ascii_upcase;
def downcase: ascii_downcase;
# yq's `kind` and `tag` read from the value's type, since a value here carries no tag:
# `!!map`, `!!seq`, `!!str`, `!!int`, `!!float`, `!!bool`, `!!null`
# (pkg/yqlib/operator_kind.go, operator_tag.go). A custom tag reads as its type's.
def kind: if type == "object" then "map" elif type == "array" then "seq" else "scalar" end;
def tag:
  if type == "object" then "!!map"
  elif type == "array" then "!!seq"
  elif type == "string" then "!!str"
  elif type == "boolean" then "!!bool"
  elif type == "null" then "!!null"
  elif type == "number" then (if . == floor and (tostring | test("^-?[0-9]+$")) then "!!int" else "!!float" end)
  else "!!\(type)" end;
# yq's CSV and TSV decoders: the first row names the columns (pkg/yqlib/decoder_csv_object.go).
def @csvd: __csvd(",");
def @tsvd: __csvd("\t");
def from_csv: __csvd(",");
def from_tsv: __csvd("\t");
# yq's properties encoder and decoder (pkg/yqlib/encoder_properties.go,
# decoder_properties.go): one `path = value` line a scalar, the path's keys and indices
# joined with `.`; decoding makes each value a string, a number in the path an index.
def to_props:
  [path(.. | select(type != "object" and type != "array")) as $p
   | "\($p | map(tostring) | join(".")) = \(getpath($p) | if type == "string" then . else tojson end)\n"]
  | add // "";
def @props: to_props;
def from_props:
  reduce (split("\n")[] | sub("^\\s+"; "") | select(. != "" and (startswith("#") or startswith("!") | not))
          | capture("^(?<k>[^=:]*?)\\s*[=:]\\s*(?<v>.*)$") // {k: ., v: ""}) as $e
    (null; setpath($e.k | split(".") | map(if test("^[0-9]+$") then tonumber else . end); $e.v));
def @propsd: from_props;
# yq's `with_dtf(layout; f)`: f runs with Go's date layout `layout` for reading and writing
# dates (`+`, `-`, `format_datetime`, `tz`, `to_unix`), then the layout before it is back,
# also when f fails (pkg/yqlib/operator_datetime.go, `withDateTimeFormat`). f's values are
# collected first, so that none runs with the outer layout. yq also takes a comma,
# `with_dtf("layout", f)`: one argument whose first value is the layout.
def with_dtf($layout; f):
  __dtf_set($layout) as $outer
  | (try [f] catch (. as $e | __dtf_set($outer) | error($e))) as $out
  | __dtf_set($outer)
  | $out[];
def with_dtf(args): first(args) as $layout | with_dtf($layout; [args][1:][]);
