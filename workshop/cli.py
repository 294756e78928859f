"""The `workshop` command: one entry point, one module per subcommand.

Each subcommand lives in its own module with a ``main(argv) -> int``; this file only
dispatches, so modules stay small and can be read on their own.

    $ workshop check 2          # self-grade level 2
    $ workshop guard            # is the current kube context safe to change?
"""

import importlib
import sys

from workshop.i18n import N_, _

# name: (module exposing main(argv) -> int, one-line description)
COMMANDS = {
    "check": ("workshop.grading.cli", N_("self-grade a level against the current cluster")),
    "doctor": ("workshop.grading.doctor", N_("check tools, versions, container engine and cluster")),
    "progress": ("workshop.grading.progress", N_("show every level's status at a glance")),
    "report": ("workshop.grading.report", N_("turn a folder of learners' results into an HTML table")),
    "guard": ("workshop.commands.guard", N_("print the kube context and refuse one that is not local")),
    "versions": ("workshop.commands.versions", N_("print the pinned versions (versions.env)")),
    "lab": ("workshop.commands.lab", N_("find a level's lab folder and its scripts")),
    "preload": ("workshop.preload", N_("pull every image the workshop needs once, then load them into kind")),
    "requirements": ("workshop.requirements", N_("measure each level's CPU and memory requests on a cluster")),
    "sim": ("workshop.sim.cli", N_("start, stop and inspect the sim cluster used by the tests")),
}


def usage() -> str:
    lines = [_("usage: workshop COMMAND [ARGS...]"), "", _("commands:")]
    lines += [f"  {name:<10} {_(description)}" for name, (_module, description) in COMMANDS.items()]
    lines += ["", _("Run `workshop COMMAND --help` for a command's options.")]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(_("workshop: unknown command {name}").format(name=repr(name)) + f"\n\n{usage()}", file=sys.stderr)
        return 2
    module_name, _description = COMMANDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            print(_("workshop {name}: this command is not part of this version of the workshop yet.").format(name=name),
                  file=sys.stderr)
            return 2
        raise
    return module.main(rest)


if __name__ == "__main__":
    sys.exit(main())
