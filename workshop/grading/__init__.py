"""Self-grading for the workshop's labs: `workshop check N` and the tools around it.

Lab authors write checks in ``labs/NN-topic/checks/`` (``check_*.py`` functions, or
``check_*.yaml`` partial objects); pytest runs them with :mod:`workshop.grading.plugin`
and the learner gets one line per check, the hint first, then every mismatch as
``path: expected X, got Y``, a score and the next thing to do. Titles and hints are marked
``N_(...)`` for the translation catalog (workshop/i18n.py): results keep them in English,
the terminal report says them in the learner's language.

    from workshop.grading import N_, check, verify

    @check(id="l2-replicas", title=N_("account runs 2 replicas"), points=2,
           hint=N_("Scale it: kubectl -n workshop scale deployment/account --replicas=2"))
    def check_replicas(cluster, namespace):
        with verify() as v:
            v.match(cluster.get("Deployment", "account", namespace), {"spec": {"replicas": 2}})

Modules: matcher (partial objects), kube (read-only cached cluster), spec (declaring
checks), plugin (pytest), diagnostics, httpprobe, results/render (reports), cli,
doctor, progress, report (the instructor's HTML table).
"""

from workshop.grading.kube import CannotCheck, Transient
from workshop.grading.matcher import PRESENT, Ordered, match
from workshop.grading.spec import CheckFailed, check, verify
from workshop.i18n import N_

__all__ = ["N_", "PRESENT", "CannotCheck", "CheckFailed", "Ordered", "Transient", "check", "match", "verify"]
