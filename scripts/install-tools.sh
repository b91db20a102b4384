#!/bin/sh
# Install Graphviz's `dot` (SVG/PNG exports) and kcat (import tests, benchmarks)
# when missing and the machine allows; otherwise say what is missing and go on.
missing=""
command -v dot >/dev/null 2>&1 || missing="$missing graphviz"
command -v kcat >/dev/null 2>&1 || missing="$missing kcat"
[ -z "$missing" ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing$missing (apt-get)..." >&2
    if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing) >/tmp/choreo-apt.log 2>&1; then
        exit 0
    fi
    echo "note: apt-get could not install$missing (see /tmp/choreo-apt.log)." >&2
elif command -v brew >/dev/null 2>&1; then
    brew install $missing >&2 && exit 0
fi
echo "note:$missing not installed. choreo still works: diagrams are written as DOT" >&2
echo "      (install Graphviz for SVG/PNG), and tests that need kcat or dot are skipped." >&2
exit 0
