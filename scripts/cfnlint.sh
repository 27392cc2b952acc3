#!/usr/bin/env bash
# Lint synthesized CloudFormation templates with cfn-lint.
# Usage: scripts/cfnlint.sh [template.json ...]   (default: cdk.out/*.template.json)
# Finds cfn-lint on PATH, in pyenv (shim or any installed version) or as the
# Python module; if none is installed it says so and exits 0 (skip), so the
# check runs wherever cfn-lint exists and never blocks a machine without it.
# Exit status: non-zero on cfn-lint errors; warnings are printed only.
set -uo pipefail

templates=("$@")
if [ ${#templates[@]} -eq 0 ]; then
	shopt -s nullglob
	templates=(cdk.out/*.template.json)
	shopt -u nullglob
fi
if [ ${#templates[@]} -eq 0 ]; then
	echo "cfnlint: no templates (run 'npx cdk synth' first)" >&2
	exit 1
fi

works() { "$@" --version >/dev/null 2>&1; }
lint=()
if works cfn-lint; then
	lint=(cfn-lint)
elif works "$HOME/.pyenv/shims/cfn-lint"; then
	lint=("$HOME/.pyenv/shims/cfn-lint")
else
	for c in "$HOME"/.pyenv/versions/*/bin/cfn-lint; do
		if works "$c"; then lint=("$c"); break; fi
	done
fi
if [ ${#lint[@]} -eq 0 ] && python3 -c 'import cfnlint' >/dev/null 2>&1; then
	lint=(python3 -c 'import sys; from cfnlint.runner import main; sys.exit(main())')
fi
if [ ${#lint[@]} -eq 0 ]; then
	echo "cfnlint: SKIPPED: cfn-lint is not installed (pip install cfn-lint)" >&2
	exit 0
fi

echo "cfnlint: $("${lint[@]}" --version 2>&1) on ${templates[*]}"
"${lint[@]}" --format parseable -- "${templates[@]}"
code=$?
# cfn-lint's exit code is a bit set: 2 errors, 4 warnings, 8 informational.
if [ $((code & ~14)) -ne 0 ]; then
	echo "cfnlint: cfn-lint failed to run (exit $code)" >&2
	exit "$code"
fi
if [ $((code & 2)) -ne 0 ]; then
	echo "cfnlint: errors found" >&2
	exit 1
fi
echo "cfnlint: no errors"
