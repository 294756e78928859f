# A lab script's one-line message in the learner's language (WORKSHOP_LANG or the locale;
# workshop/i18n.py), its {NAME} fields filled in (scripts/lab.sh sources it first):
#   log "$(say 'Level {number} is reset.' number=6)"
# The English text is the catalog's msgid: keep it a literal in the call (`make i18n-update`
# reads the call). Without a working `workshop` command the English is printed, filled in.
say() {
  "${WORKSHOP:-${REPO_ROOT:-.}/.venv/bin/workshop}" lab say "$@" 2>/dev/null && return 0
  local message="$1" pair
  shift
  for pair in "$@"; do
    message="${message//"{${pair%%=*}}"/"${pair#*=}"}"  # quoted: a & in the value stays a &
  done
  echo "$message"
}
