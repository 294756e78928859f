"""The `workshop` command: one entry point, one module per subcommand.

Each subcommand lives in its own module with a ``main(argv) -> int``; this file only
dispatches, so modules stay small and can be read on their own.

    $ workshop check 2          # self-grade level 2
    $ workshop guard            # is the current kube context safe to change?
"""

import importlib
import sys

# name: (module exposing main(argv) -> int, one-line description)
COMMANDS = {
    "check": ("workshop.grading.cli", "self-grade a level against the current cluster"),
    "doctor": ("workshop.grading.doctor", "check tools, versions, container engine and cluster"),
    "progress": ("workshop.grading.progress", "show every level's status at a glance"),
    "report": ("workshop.grading.report", "turn a folder of learners' results into an HTML table"),
    "guard": ("workshop.commands.guard", "print the kube context and refuse one that is not local"),
    "versions": ("workshop.commands.versions", "print the pinned versions (versions.env)"),
    "lab": ("workshop.commands.lab", "find a level's lab folder and its scripts"),
    "preload": ("workshop.preload", "pull every image the workshop needs once, then load them into kind"),
    "requirements": ("workshop.requirements", "measure each level's CPU and memory requests on a cluster"),
    "sim": ("workshop.sim.cli", "start, stop and inspect the sim cluster used by the tests"),
}


def usage() -> str:
    lines = ["usage: workshop COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<10} {description}" for name, (_, description) in COMMANDS.items()]
    lines += ["", "Run `workshop COMMAND --help` for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"workshop: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module_name, _ = COMMANDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            print(f"workshop {name}: this command is not part of this version of the workshop yet.", file=sys.stderr)
            return 2
        raise
    return module.main(rest)


if __name__ == "__main__":
    sys.exit(main())
