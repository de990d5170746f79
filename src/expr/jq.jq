# jq's semantics where jaq 3 differs, loaded after jaq's own definitions so these win.
#
# jaq defines `del(f)` as `f |= empty` and deletes `delpaths` one path after the other, so
# deleting several items of an array shifts the later ones: `[1,2,3,4,5] | del(.[0,1])`
# gave [2,4,5] and `delpaths([[1],[2],[4]])` gave [1,3,5,null]. jq sorts the paths and
# deletes from the last one back: [3,4,5] and [1,4].
#
# `|= empty` keeps the value since `|=` has yq's meaning (vendor/jaq-core/PATCHES.md), so a
# path is deleted natively, from its parent, and only when the parent exists: yq's `del`
# leaves a document without `spec` as it was (pkg/yqlib/operator_delete.go), where
# `getpath(["spec"]) |= ...` would add `spec: null`. Deleting the document itself yields
# nothing, as before (jq gives null; yq drops the document from its output).
def delpaths($paths): reduce ($paths | sort | unique | reverse[]) as $path (.;
  if $path == [] then empty
  elif __haspath($path[:-1]) then getpath($path[:-1]) |= __delkey($path[-1])
  else . end);
def del(f): delpaths([path(f)]);
# A string interpolation writes a mapping or sequence as flow YAML, as yq does
# (vendor/jaq-json, `INTERPOLATE`); jq's `tostring` and `@text` stay JSON.
def tostring: if type == "object" or type == "array" then tojson else "\(.)" end;
def @text: tostring;
