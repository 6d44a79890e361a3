#!/bin/bash
# Run cmocka unit test binaries; print each binary's result and a closing
# "unit: N passed, N failed" line. Exit non-zero on any failure.
passed=0; failed=0
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	p=${p:-0}; f=${f:-0}
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi   # crashed before reporting
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$f" != 0 ]; then
		echo "FAIL $(basename "$t"): $p passed, $f failed"
		printf '%s\n' "$out" | grep -v '^\[ \(RUN\|       OK\) ' | tail -40
	else
		echo "ok   $(basename "$t"): $p passed"
	fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" = 0 ]
