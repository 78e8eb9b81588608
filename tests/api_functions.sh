#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Prints the name of every function the header declares with DAXMAP_API, one
# a line: comments and preprocessor lines dropped, declarations joined across
# lines and split at ';', so a declaration broken anywhere is still found.
# usage: api_functions.sh include/libdaxmap.h
set -eu
awk '
	{
		line = $0
		out = ""
		while (line != "") {
			if (incomment) {
				i = index(line, "*/")
				if (!i) { line = ""; break }
				line = substr(line, i + 2)
				incomment = 0
			} else {
				i = index(line, "/*")
				if (!i) { out = out line; line = ""; break }
				out = out substr(line, 1, i - 1)
				line = substr(line, i + 2)
				incomment = 1
			}
		}
		if (out !~ /^[ \t]*#/)
			printf "%s ", out
	}' "$1" | tr ';' '\n' | sed -n 's/^.*DAXMAP_API[^(]*[ *]\([A-Za-z_][A-Za-z0-9_]*\)[ \t]*(.*$/\1/p'
