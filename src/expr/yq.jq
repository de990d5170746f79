# yq's spellings, written in jq and compiled before every expression.
# `with` is an update relative to a path; the document index is a variable bound per
# document; `env` is `$ENV`, which holds only the variables the caller allows.
def with(p; f): p |= f;
def documentIndex: $__di;
def di: $__di;
def env: $ENV;
