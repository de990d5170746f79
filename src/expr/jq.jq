# jq's semantics where jaq 3 differs, loaded after jaq's own definitions so these win.
#
# jaq defines `del(f)` as `f |= empty` and deletes `delpaths` one path after the other, so
# deleting several items of an array shifts the later ones: `[1,2,3,4,5] | del(.[0,1])`
# gave [2,4,5] and `delpaths([[1],[2],[4]])` gave [1,3,5,null]. jq sorts the paths and
# deletes from the last one back: [3,4,5] and [1,4].
def delpaths($paths): reduce ($paths | unique | reverse[]) as $path (.; getpath($path) |= empty);
def del(f): delpaths([path(f)]);
