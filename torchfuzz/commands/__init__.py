"""The subcommands of `torchfuzz`: one module per group, each command = its arguments, one
library call, and the rendering of what that call returns.

Each module has `register(subparsers)`, which adds its commands and binds each to its function
(`set_defaults(run=...)`); `torchfuzz.cli` builds the parser from :data:`GROUPS`.
"""
