"""One module per ``pybuild`` subcommand; see ``builder.cli`` for the contract each follows."""
