#!/usr/bin/env bash
# Renders docs/images/cli-tour.png: the README's tour, run for real against a manager of its own
# (a temporary HOME, a free port), and drawn by charmbracelet/freeze from the terminal output.
#   go install github.com/charmbracelet/freeze@v0.2.2 && bash scripts/tourScreenshot.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
freeze=${FREEZE:-$(command -v freeze || echo "$HOME/go/bin/freeze")}
[ -x "$freeze" ] || { echo "freeze not found: go install github.com/charmbracelet/freeze@v0.2.2" >&2; exit 2; }
work=$(mktemp -d)
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
export HOME=$work TASKWIRE_PORT=$port PATH="$root/server/node_modules/.bin:$root/node_modules/.bin:$PATH"
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cd "$root"
node server/bin/taskwire.js serve --port "$port" > "$work/serve.log" 2>&1 &
until grep -q listening "$work/serve.log"; do sleep 0.1; done

# What the image shows: each command as typed in the tour, then what it printed.
cat > "$work/tour.sh" <<'TOUR'
# `npx taskwire` is what a reader types; this checkout's CLI is what runs. Output through a pipe,
# as a log would have it (no progress bar redrawn in place).
run() { printf '\033[1;32m$\033[0m %s\n' "$1"; eval "${1//npx taskwire/node server/bin/taskwire.js}" 2>&1 | cat; }
run 'npx taskwire put tasks image_url_0 image_url_1 image_url_2 --reply-to results'
run "seq 0 999 | sed 's/^/image_url_/' | npx taskwire put tasks --reply-to results"
printf '\033[1;32m$\033[0m %s\n' 'node samples/quickstart/worker.js &   # twice'
node samples/quickstart/worker.js > /dev/null & node samples/quickstart/worker.js > /dev/null &
sleep 2
run 'npx taskwire workers'
run 'npx taskwire stats tasks'
run 'npx taskwire get results --payload --max 3 --timeout 10'
kill %1 %2
TOUR
"$freeze" --execute "bash $work/tour.sh" --language ansi --window --theme dracula --width 1350 \
  --font.family "DejaVu Sans Mono" --font.file /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf --font.size 13 --padding 20 --margin 10 -o docs/images/cli-tour.png
echo "wrote docs/images/cli-tour.png"
