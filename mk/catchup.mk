##@ Catch up (instructors: a learner who joins late, or broke the cluster)

# `make catchup-N`: the current cluster as after levels 1 to N-1 (later levels reset, earlier
# levels' solutions applied in order), ready for `make lab-N`. Refuses a non-local context.
# Level 4's solution needs REPO_URL (your fork) for N >= 5. See scripts/catchup.sh.
CATCHUP_LEVELS := 2 3 4 5 6 7

define CATCHUP_TARGET
.PHONY: catchup-$(1)
catchup-$(1): $$(VENV_STAMP)
	@scripts/catchup.sh $(1)
endef
$(foreach n,$(CATCHUP_LEVELS),$(eval $(call CATCHUP_TARGET,$(n))))
