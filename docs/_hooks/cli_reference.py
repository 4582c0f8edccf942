"""MkDocs hook: the CLI reference, written from ``backprop.cli``'s argument parser.

A page that holds the line ``<!-- cli-reference -->`` gets, in its place, one section per
command (usage, description, and a table of every option, grouped as ``--help`` groups them),
so that no option is described twice: the parser is the one source.
"""

from __future__ import annotations

import argparse

MARKER = "<!-- cli-reference -->"


def _cell(text: str) -> str:
    """``text`` made safe for one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _option(action: argparse.Action) -> str:
    """How an option is written on the command line, e.g. ``--hidden SIZES`` or ``MODEL``."""
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    if action.nargs == 0:
        return ", ".join(f"`{s}`" for s in action.option_strings)
    if action.choices is not None and action.metavar is None:
        value = "{" + ",".join(str(c) for c in action.choices) + "}"
    else:
        value = action.metavar or action.dest.upper()
    return ", ".join(f"`{s} {value}`" for s in action.option_strings)


def _usage(parser: argparse.ArgumentParser) -> str:
    formatter = argparse.HelpFormatter(parser.prog, width=88)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups, prefix="")
    return formatter.format_help().strip()


def _groups(parser: argparse.ArgumentParser):
    """(title, [actions]) for each non-empty argument group, in --help order, without -h."""
    for group in parser._action_groups:
        actions = [a for a in group._group_actions
                   if a.help != argparse.SUPPRESS and not isinstance(a, (argparse._HelpAction,
                                                                         argparse._SubParsersAction))]
        if actions:
            yield group.title, actions


def _options_table(parser: argparse.ArgumentParser) -> list[str]:
    formatter = parser._get_formatter()
    lines: list[str] = []
    for title, actions in _groups(parser):
        lines += ["", f"**{title}**", "", "| option | meaning |", "|---|---|"]
        for action in actions:
            lines.append(f"| {_option(action)} | {_cell(formatter._expand_help(action) if action.help else '')} |")
    return lines


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser's subcommands by name, in the order ``--help`` lists them."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def render(parser: argparse.ArgumentParser) -> str:
    """Markdown for ``parser``: its own options, then one section per subcommand."""
    lines = ["```text", _usage(parser), "```", "", parser.description or ""]
    lines += _options_table(parser)
    for name, sub in subcommands(parser).items():
        lines += ["", f"## `{sub.prog}`", "", "```text", _usage(sub), "```", "",
                  (sub.description or "")]
        lines += _options_table(sub)
    return "\n".join(lines) + "\n"


def on_page_markdown(markdown: str, page, config, files, **kwargs) -> str:
    if MARKER not in markdown:
        return markdown
    from backprop.cli import build_parser

    return markdown.replace(MARKER, render(build_parser()))
