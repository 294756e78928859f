#!/usr/bin/env bash
# `make test`: the whole suite, in three pytest runs.
#  1. the app tier (tests/app, services/): timing-sensitive tests of real processes, alone;
#  2. then two side by side: the real mesh (level 5 and its sim test) and level 7's pair (sims 6,
#     10 and 11, which no other test uses) in one, every other test in the other, in file order
#     (they share sims 1, 2 and 3: one process must own them). The side run's output comes last.
# With arguments (a part of the suite, a marker) or TEST_PROCESSES=1, one run does what was asked.
set -uo pipefail

pytest="$1"
shift
APP=(tests/app services)
BESIDE=(tests/labs/test_level5_real_mesh.py tests/docs/test_level5_page.py tests/labs/test_requirements_mesh.py tests/labs/test_level7.py tests/sim/test_real_mesh.py)

if [[ $# -gt 0 || "${TEST_PROCESSES:-2}" == 1 ]]; then
  exec "$pytest" "$@"
fi

"$pytest" "${APP[@]}"
app_status=$?

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
"$pytest" "${BESIDE[@]}" >"$log" 2>&1 &
beside=$!
# `tests` named, not left to testpaths: --ignore skips what collection finds below a path given,
# never a path given itself (with testpaths, services/ ran a second time here).
"$pytest" tests --ignore=tests/app "${BESIDE[@]/#/--ignore=}"
rest_status=$?
wait "$beside"
beside_status=$?
echo
echo "==================== ${BESIDE[*]} (run beside the rest) ===================="
cat "$log"
if ((app_status != 0 || rest_status != 0 || beside_status != 0)); then
  echo "make test: exit status of the app tier $app_status, the rest $rest_status, ${BESIDE[*]} $beside_status" >&2
  exit 1
fi
