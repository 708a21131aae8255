#!/usr/bin/env bash
# Print the path of a Python interpreter of the wanted minor version (e.g. 3.10),
# looking at PATH first, then pyenv's versions. Exits 1 with advice if none exists.
set -u
want="$1"
try() { "$1" -c "import sys; assert '%d.%d' % sys.version_info[:2] == '$want'" >/dev/null 2>&1 && { command -v "$1"; exit 0; }; }
try "python$want"
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for p in "$root"/versions/"$want".*/bin/python /usr/local/bin/python"$want" /usr/bin/python"$want"; do
  [ -x "$p" ] && try "$p"
done
echo "error: Python $want not found. Install it (e.g. 'pyenv install $want' or 'apt-get install python$want python$want-venv')." >&2
exit 1
